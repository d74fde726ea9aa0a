"""Service discovery: a Cloud Map HTTP namespace with one service per domain service.

Each service registers one instance whose attributes carry what a caller needs:
the public base URL and the names of the functions it may invoke directly.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from agora.operations import Service

NAMESPACE = "agora"


class ServiceRegistry(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.namespace = servicediscovery.HttpNamespace(
            self, "Namespace", name=NAMESPACE, description="Agora services"
        )
        self.services: dict[str, servicediscovery.Service] = {}

    def register(
        self, service: Service, *, base_url: str, functions: dict[str, lambda_.IFunction]
    ) -> servicediscovery.Service:
        entry = self.namespace.create_service(
            service.name, name=service.name, description=f"Agora {service.name} service"
        )
        attributes = {"base_url": base_url.rstrip("/") + service.route_prefixes[0]}
        attributes.update({f"fn_{op_id}": fn.function_name for op_id, fn in functions.items()})
        entry.register_non_ip_instance(
            "Instance", instance_id=f"{service.name}-1", custom_attributes=attributes
        )
        self.services[service.name] = entry
        return entry
