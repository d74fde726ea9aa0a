import json
from datetime import datetime
from pathlib import Path


def test_health_answers_the_seed_shape_through_the_lambda_handler(lambda_context):
    from agora import health

    event = json.loads(Path("events/samples/apigw-users-health.json").read_text())
    response = health.handler(event, lambda_context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert set(body) == {"status", "service", "timestamp", "version"}
    assert body["status"] == "healthy" and body["service"] == "users-service"
    assert datetime.fromisoformat(body["timestamp"]).utcoffset().total_seconds() == 0
    assert response["headers"]["x-request-id"] == "sample-request-1"
