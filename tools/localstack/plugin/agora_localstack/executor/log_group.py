"""Send function logs to the log group named in the function's LoggingConfig.

Community LocalStack accepts LoggingConfig but always writes to
/aws/lambda/<function>; CDK's ``logGroup`` property relies on the setting, so
without this the stack's own log groups would stay empty.
"""

from collections.abc import Callable

from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment
from localstack.utils.patch import Patch


def _configured_log_group(
    get_log_group_name: Callable[[ExecutionEnvironment], str], self: ExecutionEnvironment
) -> str:
    logging_config = self.function_version.config.logging_config or {}
    return logging_config.get("LogGroup") or get_log_group_name(self)


_PATCH = Patch.function(ExecutionEnvironment.get_log_group_name, _configured_log_group)


def honour_logging_config() -> None:
    if not _PATCH.is_applied:
        _PATCH.apply()
