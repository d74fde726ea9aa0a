"""Service discovery: a Cloud Map HTTP namespace (platform stack) with one service per domain service,
registered by the service's own stack.

Each service registers one instance whose attributes carry what a caller needs:
the public base URL and, per internal function, the name to invoke (``fn_<id>``:
the function's, qualified by its ``live`` alias where it starts from a SnapStart
snapshot) and its declared timeout in seconds (``timeout_<id>``), from which
callers size their wait.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from agora.operations import Service

NAMESPACE = "agora"
MAX_ATTRIBUTES = 30  # Cloud Map's limit of custom attributes per instance


def namespace(scope: Construct) -> servicediscovery.HttpNamespace:
    """The platform's namespace; services register in it from their own stacks."""
    return servicediscovery.HttpNamespace(scope, "Namespace", name=NAMESPACE, description="Agora services")


def register(
    scope: Construct,
    namespace: servicediscovery.IHttpNamespace,
    service: Service,
    *,
    base_url: str,
    functions: dict[str, lambda_.IFunction],
) -> servicediscovery.Service:
    entry = servicediscovery.Service(
        scope,
        "Discovery",
        namespace=namespace,
        name=service.name,
        description=f"Agora {service.name} service",
    )
    declared = {i.id: i.timeout_s for i in service.internal}
    attributes = {"base_url": base_url + service.route_prefixes[0]}
    # Where the service publishes its token keys, for a verifier that finds it by name.
    for op in service.operations:
        if op.id == "jwks":
            attributes["jwks_url"] = base_url + op.path
    for op_id, fn in functions.items():
        attributes[f"fn_{op_id}"] = fn.function_name
        attributes[f"timeout_{op_id}"] = str(declared[op_id])
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValueError(
            f"{service.name} needs {len(attributes)} Cloud Map attributes ({MAX_ATTRIBUTES} max)"
        )
    entry.register_non_ip_instance("Instance", instance_id=f"{service.name}-1", custom_attributes=attributes)
    return entry
