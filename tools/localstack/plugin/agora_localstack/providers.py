"""Service providers that hand the operations of an API to LocalStack's bundled moto.

Community LocalStack has no provider for Cloud Map or X-Ray, and its DynamoDB
provider downloads DynamoDB Local and a JVM on first use. Moto implements all
three in-process. Each provider is registered as ``<api>:agora`` and selected
with ``PROVIDER_OVERRIDE_<API>=agora``.
"""

import importlib
import threading
from collections.abc import Callable

from localstack.aws.api import CommonServiceException, RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.spec import load_service
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

PROVIDER_NAME = "agora"

Handler = Callable[[RequestContext, ServiceRequest], ServiceResponse]


def _call_moto(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    from localstack.services.moto import call_moto

    return call_moto(context)


class MotoProvider:
    """Routes every operation to moto, except the ones given in ``overrides``."""

    def __init__(
        self,
        service: str,
        backend_module: str,
        backend_name: str,
        overrides: dict[str, Handler] | None = None,
        serialized: bool = False,
    ) -> None:
        self.service = service
        self._backend_module = backend_module
        self._backend_name = backend_name
        self._overrides = overrides or {}
        self._lock = threading.RLock() if serialized else None

    def backends(self):
        return getattr(importlib.import_module(self._backend_module), self._backend_name)

    def dispatch_table(self) -> dict[str, Handler]:
        operations = load_service(self.service).operation_names
        table = {name: self._overrides.get(name, _call_moto) for name in operations}
        if self._lock is None:
            return table
        return {name: self._one_at_a_time(handler) for name, handler in table.items()}

    def _one_at_a_time(self, handler: Handler) -> Handler:
        lock = self._lock
        assert lock is not None

        def call(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
            with lock:
                return handler(context, request)

        return call

    def accept_state_visitor(self, visitor: StateVisitor) -> None:
        # Lets LocalStack's state reset endpoint clear the moto backend.
        visitor.visit(self.backends())


def _service(provider: MotoProvider) -> Service:
    return Service.for_provider(provider, dispatch_table_factory=MotoProvider.dispatch_table)


def _servicediscovery_backend(context: RequestContext):
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[context.account_id][context.region]


def _moto_errors_as_service_errors(handler: Handler) -> Handler:
    def call(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
        from moto.core.exceptions import RESTError

        try:
            return handler(context, request)
        except RESTError as e:
            raise CommonServiceException(e.error_type, e.message, status_code=e.code) from e

    return call


@_moto_errors_as_service_errors
def _update_http_namespace(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    # Moto answers with "operationId", which clients drop as an unknown member.
    operation_id = _servicediscovery_backend(context).update_http_namespace(
        _id=request["Id"],
        namespace_dict=request["Namespace"],
        updater_request_id=request.get("UpdaterRequestId"),
    )
    return {"OperationId": operation_id}


@_moto_errors_as_service_errors
def _register_instance(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    # On AWS, registering an existing instance id replaces that instance;
    # moto would list it twice.
    backend = _servicediscovery_backend(context)
    service = backend.get_service(request["ServiceId"])
    service.instances = [i for i in service.instances if i.instance_id != request["InstanceId"]]
    operation_id = backend.register_instance(
        service_id=request["ServiceId"],
        instance_id=request["InstanceId"],
        creator_request_id=request.get("CreatorRequestId"),
        attributes=request.get("Attributes") or {},
    )
    return {"OperationId": operation_id}


@aws_provider(api="servicediscovery", name=PROVIDER_NAME)
def servicediscovery() -> Service:
    return _service(
        MotoProvider(
            "servicediscovery",
            "moto.servicediscovery.models",
            "servicediscovery_backends",
            overrides={
                "UpdateHttpNamespace": _update_http_namespace,
                "RegisterInstance": _register_instance,
            },
        )
    )


@aws_provider(api="xray", name=PROVIDER_NAME)
def xray() -> Service:
    return _service(MotoProvider("xray", "moto.xray.models", "xray_backends"))


@aws_provider(api="dynamodb", name=PROVIDER_NAME)
def dynamodb() -> Service:
    # Moto checks a condition and writes without a lock; DynamoDB does both atomically per item.
    # Serving one request at a time keeps conditional writes and transactions atomic under
    # concurrent clients (10 parallel registrations of one email must create one user).
    return _service(MotoProvider("dynamodb", "moto.dynamodb.models", "dynamodb_backends", serialized=True))


@aws_provider(api="dynamodbstreams", name=PROVIDER_NAME)
def dynamodbstreams() -> Service:
    return _service(
        MotoProvider("dynamodbstreams", "moto.dynamodbstreams.models", "dynamodbstreams_backends")
    )
