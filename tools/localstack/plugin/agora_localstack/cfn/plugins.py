"""CloudFormation resource provider plugins, looked up by resource type name.

Each plugin imports its provider only when CloudFormation first deploys that type.
"""

import importlib
from typing import Any

from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    ResourceProvider,
)


class _LazyProviderPlugin(CloudFormationResourceProviderPlugin):
    provider_path: str

    def __init__(self) -> None:
        self.factory: type[ResourceProvider[Any]] | None = None

    def load(self) -> None:
        module_name, _, class_name = self.provider_path.rpartition(".")
        self.factory = getattr(importlib.import_module(module_name), class_name)


class HttpNamespaceProviderPlugin(_LazyProviderPlugin):
    name = "AWS::ServiceDiscovery::HttpNamespace"
    provider_path = "agora_localstack.cfn.http_namespace.HttpNamespaceProvider"


class ServiceProviderPlugin(_LazyProviderPlugin):
    name = "AWS::ServiceDiscovery::Service"
    provider_path = "agora_localstack.cfn.service.ServiceProvider"


class InstanceProviderPlugin(_LazyProviderPlugin):
    name = "AWS::ServiceDiscovery::Instance"
    provider_path = "agora_localstack.cfn.instance.InstanceProvider"


class DashboardProviderPlugin(_LazyProviderPlugin):
    name = "AWS::CloudWatch::Dashboard"
    provider_path = "agora_localstack.cfn.dashboard.DashboardProvider"


class EventsArchiveProviderPlugin(_LazyProviderPlugin):
    name = "AWS::Events::Archive"
    provider_path = "agora_localstack.cfn.events_archive.ArchiveProvider"


class CustomResourceProviderPlugin(_LazyProviderPlugin):
    name = "AWS::CloudFormation::CustomResource"
    provider_path = "agora_localstack.cfn.custom_resource.CustomResourceProvider"
