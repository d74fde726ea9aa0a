"""Service providers that hand the operations of an API to LocalStack's bundled moto.

Community LocalStack has no provider for Cloud Map or X-Ray, and its DynamoDB
provider downloads DynamoDB Local and a JVM on first use. Moto implements all
three in-process. Each provider is registered as ``<api>:agora`` and selected
with ``PROVIDER_OVERRIDE_<API>=agora``.
"""

import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NotRequired, cast

from localstack.aws.api import CommonServiceException, RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.api.core import ServiceRequestHandler
from localstack.aws.skeleton import DispatchTable
from localstack.aws.spec import load_service
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

if TYPE_CHECKING:
    from moto.core.base_backend import BackendDict
    from moto.servicediscovery.models import ServiceDiscoveryBackend

PROVIDER_NAME = "agora"


class UpdateHttpNamespaceRequest(ServiceRequest):
    Id: str
    Namespace: dict[str, Any]
    UpdaterRequestId: NotRequired[str]


class RegisterInstanceRequest(ServiceRequest):
    ServiceId: str
    InstanceId: str
    CreatorRequestId: NotRequired[str]
    Attributes: NotRequired[dict[str, str]]


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
        overrides: dict[str, ServiceRequestHandler] | None = None,
        serialized: bool = False,
    ) -> None:
        self.service = service
        self._backend_module = backend_module
        self._backend_name = backend_name
        self._overrides = overrides or {}
        self._lock = threading.RLock() if serialized else None

    def backends(self) -> "BackendDict[Any]":
        return getattr(importlib.import_module(self._backend_module), self._backend_name)

    def dispatch_table(self) -> DispatchTable:
        operations = load_service(self.service).operation_names
        table = {name: self._overrides.get(name, _call_moto) for name in operations}
        lock = self._lock
        if lock is None:
            return table
        return {name: _one_at_a_time(lock, handler) for name, handler in table.items()}

    def accept_state_visitor(self, visitor: StateVisitor) -> None:
        # Lets LocalStack's state reset endpoint clear the moto backend.
        visitor.visit(self.backends())


def _one_at_a_time(lock: threading.RLock, handler: ServiceRequestHandler) -> ServiceRequestHandler:
    def call(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
        with lock:
            return handler(context, request)

    return call


def _service(provider: MotoProvider) -> Service:
    # The factory is called with this same provider; the closure keeps its concrete type.
    return Service.for_provider(provider, dispatch_table_factory=lambda _: provider.dispatch_table())


def _servicediscovery_backend(context: RequestContext) -> "ServiceDiscoveryBackend":
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[context.account_id][context.region]


def _moto_errors_as_service_errors[R: ServiceRequest](
    handler: Callable[[RequestContext, R], ServiceResponse],
) -> ServiceRequestHandler:
    def call(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
        from moto.core.exceptions import RESTError

        try:
            # The skeleton parsed the request against the input shape of the operation it is routed to.
            return handler(context, cast(R, request))
        except RESTError as e:
            raise CommonServiceException(e.error_type, e.message, status_code=e.code) from e

    return call


@_moto_errors_as_service_errors
def _update_http_namespace(context: RequestContext, request: UpdateHttpNamespaceRequest) -> ServiceResponse:
    # Moto answers with "operationId", which clients drop as an unknown member.
    operation_id = _servicediscovery_backend(context).update_http_namespace(
        _id=request["Id"],
        namespace_dict=request["Namespace"],
        updater_request_id=request.get("UpdaterRequestId"),
    )
    return {"OperationId": operation_id}


@_moto_errors_as_service_errors
def _register_instance(context: RequestContext, request: RegisterInstanceRequest) -> ServiceResponse:
    # On AWS, registering an existing instance id replaces that instance;
    # moto would list it twice.
    backend = _servicediscovery_backend(context)
    service = backend.get_service(request["ServiceId"])
    service.instances = [i for i in service.instances if i.instance_id != request["InstanceId"]]
    operation_id = backend.register_instance(
        service_id=request["ServiceId"],
        instance_id=request["InstanceId"],
        # Moto annotates this str, yet its own RegisterInstance handler passes an absent one as None.
        creator_request_id=request.get("CreatorRequestId"),  # type: ignore[arg-type]
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
