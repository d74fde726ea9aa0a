"""LocalStack's twisted gateway server, bound to the host given in GATEWAY_LISTEN.

The stock twisted server listens on all IPv4 interfaces whatever host
GATEWAY_LISTEN names. With Lambda code running as plain host processes, an
emulator reachable from the network would run anyone's code, so the gateway
must honour a loopback address. The hypercorn server does, but costs about
5 ms more per request.
"""

from localstack import config
from localstack.aws.serving.twisted import TLSMultiplexerFactory
from localstack.runtime.server.core import RuntimeServer, RuntimeServerPlugin
from localstack.runtime.server.twisted import TwistedRuntimeServer
from rolo.gateway import Gateway
from rolo.serving.twisted import TwistedGateway
from twisted.internet import endpoints, reactor, ssl
from twisted.internet.protocol import Factory


class BoundTwistedRuntimeServer(TwistedRuntimeServer):
    def register(
        self,
        gateway: Gateway,
        listen: list[config.HostAndPort],
        ssl_creds: tuple[str, str] | None = None,
    ) -> None:
        site = TwistedGateway(gateway)
        # Plain HTTP serves the site itself; TLS wraps it in a multiplexer.
        protocol_factory: Factory = site
        if ssl_creds:
            cert_file_name, key_file_name = ssl_creds
            context_factory = ssl.DefaultOpenSSLContextFactory(key_file_name, cert_file_name)
            context_factory.getContext().use_certificate_chain_file(cert_file_name)
            protocol_factory = TLSMultiplexerFactory(context_factory, False, site)
        for address in listen:
            endpoint_type = (
                endpoints.TCP6ServerEndpoint
                if config.is_ipv6_address(address.host)
                else endpoints.TCP4ServerEndpoint
            )
            endpoint_type(reactor, address.port, interface=address.host).listen(protocol_factory)


class BoundTwistedRuntimeServerPlugin(RuntimeServerPlugin):
    """Selected with ``GATEWAY_SERVER=twisted-bound``."""

    name = "twisted-bound"

    def load(self, *args: object, **kwargs: object) -> RuntimeServer:
        return BoundTwistedRuntimeServer()
