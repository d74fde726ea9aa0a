"""Names shared by the executor (inside LocalStack) and the runtime child.

The executor imports this module as
``agora_localstack.lambda_runtime.agora_lambda_runtime.protocol``, so it must
stay free of imports from the rest of the runtime package.
"""

# Set by the executor for the child; removed from os.environ before user code runs.
ENV_LISTEN_FD = "AGORA_RUNTIME_LISTEN_FD"
ENV_PARENT_PID = "AGORA_RUNTIME_PARENT_PID"
ENV_LAYER_ROOTS = "AGORA_RUNTIME_LAYER_ROOTS"
# Code and layer directories created with S3Bucket "hot-reload".
ENV_HOT_RELOAD_ROOTS = "AGORA_RUNTIME_HOT_RELOAD_ROOTS"
PRIVATE_ENV = (ENV_LISTEN_FD, ENV_PARENT_PID, ENV_LAYER_ROOTS, ENV_HOT_RELOAD_ROOTS)

# Set by LocalStack's ExecutionEnvironment, kept visible like in the docker executor.
ENV_RUNTIME_ENDPOINT = "LOCALSTACK_RUNTIME_ENDPOINT"
ENV_RUNTIME_ID = "LOCALSTACK_RUNTIME_ID"

# Keys of the JSON body of ``POST /invoke``; the first four come from LocalStack.
INVOKE_REQUEST_ID = "invoke-id"
INVOKE_FUNCTION_ARN = "invoked-function-arn"
INVOKE_PAYLOAD = "payload"
INVOKE_TRACE_ID = "trace-id"
INVOKE_DEADLINE_MS = "deadline-ms"

INVOKE_PATH = "/invoke"
