"""Settings every test process starts from: no AWS account, no real credentials, no tracing export."""

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AGORA_SERVICE", "users")
os.environ.setdefault("AGORA_TRACE_EXPORT", "off")
# pynamodb binds a model to its table when the module is imported.
os.environ.setdefault("AGORA_USERS_TABLE", "agora-users-test")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Agora")


@dataclass
class LambdaContext:
    function_name: str = "agora-test-fn"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:agora-test-fn"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    log_group_name: str = "/aws/lambda/agora-test-fn"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


@pytest.fixture
def lambda_context():
    return LambdaContext()


@pytest.fixture
def consumer_factory(monkeypatch):
    """``agora.consumer.consumer`` over a moto idempotency table, with its caches fresh."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("AGORA_IDEMPOTENCY_TABLE", "idempotency")
        monkeypatch.setenv("AGORA_SERVICE", "products")
        from agora import consumer, settings

        settings.settings.cache_clear()
        consumer._idempotency.cache_clear()
        yield consumer.consumer
        settings.settings.cache_clear()
        consumer._idempotency.cache_clear()
