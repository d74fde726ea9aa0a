"""Where processes on this host reach the LocalStack gateway."""

from localstack import config

# Listening on every interface includes loopback, the address runtimes use.
_WILDCARDS = ("", "0.0.0.0", "::", "localhost")  # noqa: S104


def gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in _WILDCARDS else host


def gateway_url() -> str:
    return f"http://{gateway_host()}:{config.GATEWAY_LISTEN[0].port}"
