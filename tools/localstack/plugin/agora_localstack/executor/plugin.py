from typing import TYPE_CHECKING

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

if TYPE_CHECKING:
    from agora_localstack.executor.host_executor import HostProcessRuntimeExecutor


class HostProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    """Selected with ``LAMBDA_RUNTIME_EXECUTOR=host-process``."""

    name = "host-process"

    def load(self, *args: object, **kwargs: object) -> "type[HostProcessRuntimeExecutor]":
        from agora_localstack.executor.host_executor import HostProcessRuntimeExecutor
        from agora_localstack.executor.log_group import honour_logging_config

        honour_logging_config()
        return HostProcessRuntimeExecutor
