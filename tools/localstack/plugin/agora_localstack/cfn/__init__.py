"""CloudFormation resource providers for Cloud Map, backed by the servicediscovery API."""
