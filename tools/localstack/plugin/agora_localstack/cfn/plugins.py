"""CloudFormation resource provider plugins, looked up by resource type name."""

from localstack.services.cloudformation.resource_provider import CloudFormationResourceProviderPlugin


class HttpNamespaceProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::ServiceDiscovery::HttpNamespace"

    def __init__(self):
        self.factory = None

    def load(self):
        from agora_localstack.cfn.http_namespace import HttpNamespaceProvider

        self.factory = HttpNamespaceProvider


class ServiceProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::ServiceDiscovery::Service"

    def __init__(self):
        self.factory = None

    def load(self):
        from agora_localstack.cfn.service import ServiceProvider

        self.factory = ServiceProvider


class InstanceProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::ServiceDiscovery::Instance"

    def __init__(self):
        self.factory = None

    def load(self):
        from agora_localstack.cfn.instance import InstanceProvider

        self.factory = InstanceProvider
