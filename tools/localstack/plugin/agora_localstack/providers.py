"""Service providers that hand every operation of an API to LocalStack's bundled moto.

Community LocalStack has no provider for Cloud Map or X-Ray, and its DynamoDB
provider downloads DynamoDB Local and a JVM on first use. Moto implements all
three in-process. Each provider is registered as ``<api>:agora`` and selected
with ``PROVIDER_OVERRIDE_<API>=agora``.
"""

import importlib

from localstack.aws.api import RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.spec import load_service
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

PROVIDER_NAME = "agora"


def _call_moto(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    from localstack.services.moto import call_moto

    return call_moto(context)


class MotoProvider:
    """Provider without operations of its own; its dispatch table routes every operation to moto."""

    def __init__(self, service: str, moto_backend_module: str, moto_backend_name: str) -> None:
        self.service = service
        self._backend_module = moto_backend_module
        self._backend_name = moto_backend_name

    def dispatch_table(self) -> dict:
        return {operation: _call_moto for operation in load_service(self.service).operation_names}

    def accept_state_visitor(self, visitor: StateVisitor) -> None:
        # Lets LocalStack's state reset endpoint clear the moto backend.
        module = importlib.import_module(self._backend_module)
        visitor.visit(getattr(module, self._backend_name))


def _moto_service(service: str, backend_module: str, backend_name: str) -> Service:
    provider = MotoProvider(service, backend_module, backend_name)
    return Service.for_provider(provider, dispatch_table_factory=MotoProvider.dispatch_table)


@aws_provider(api="servicediscovery", name=PROVIDER_NAME)
def servicediscovery() -> Service:
    return _moto_service(
        "servicediscovery", "moto.servicediscovery.models", "servicediscovery_backends"
    )


@aws_provider(api="xray", name=PROVIDER_NAME)
def xray() -> Service:
    return _moto_service("xray", "moto.xray.models", "xray_backends")


@aws_provider(api="dynamodb", name=PROVIDER_NAME)
def dynamodb() -> Service:
    return _moto_service("dynamodb", "moto.dynamodb.models", "dynamodb_backends")


@aws_provider(api="dynamodbstreams", name=PROVIDER_NAME)
def dynamodbstreams() -> Service:
    return _moto_service(
        "dynamodbstreams", "moto.dynamodbstreams.models", "dynamodbstreams_backends"
    )
