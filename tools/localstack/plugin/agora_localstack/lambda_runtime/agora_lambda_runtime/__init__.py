"""Python Lambda runtime that runs inside one host-process execution environment.

This package is executed by the Lambda interpreter (not by LocalStack), so it
must only use the standard library: the function's own dependencies and the
pinned boto3 of the runtime venv are the only other packages on its path.
"""
