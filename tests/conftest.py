"""Settings every test process starts from: no AWS account, no real credentials, no tracing export."""

import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AGORA_SERVICE", "users")
os.environ.setdefault("AGORA_TRACE_EXPORT", "off")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Agora")
