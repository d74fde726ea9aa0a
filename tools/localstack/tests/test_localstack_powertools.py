"""Powertools' inject_lambda_context and Mangum against the host runtime's context.

The packages come from the venv running the tests (the project venv has them);
the test is skipped where they are not installed.
"""

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.localstack

HANDLER = """
from aws_lambda_powertools import Logger
from mangum import Mangum

logger = Logger(service="orders")

async def app(scope, receive, send):
    context = scope["aws.context"]
    body = json.dumps({"path": scope["path"], "function": context.function_name}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

asgi = Mangum(app, lifespan="off")

@logger.inject_lambda_context
def handler(event, context):
    logger.info("handling request")
    return asgi(event, context)
"""

API_EVENT = {
    "resource": "/{proxy+}",
    "path": "/orders/7",
    "httpMethod": "GET",
    "headers": {"Host": "localhost"},
    "multiValueHeaders": {"Host": ["localhost"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {"proxy": "orders/7"},
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/{proxy+}",
        "httpMethod": "GET",
        "path": "/local/orders/7",
        "stage": "local",
        "requestId": "r-1",
        "identity": {"sourceIp": "127.0.0.1"},
    },
    "body": None,
    "isBase64Encoded": False,
}


def package_files(*packages: str) -> dict[str, str]:
    files = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            pytest.skip(f"{package} is not installed in the test venv")
        if spec.submodule_search_locations is None:
            files[f"python/{package}.py"] = Path(spec.origin).read_text()
            continue
        root = Path(spec.origin).parent
        for path in root.rglob("*.py"):
            files[f"python/{package}/{path.relative_to(root)}"] = path.read_text()
    return files


def test_powertools_logger_and_mangum_work_with_the_context(make_function, invoke, publish_layer):
    layer = publish_layer(
        "agora-powertools", package_files("aws_lambda_powertools", "mangum", "typing_extensions")
    )
    name = make_function({"app.py": "import json\n" + HANDLER}, Layers=[layer], MemorySize=512, Timeout=10)
    result = invoke(name, API_EVENT)
    assert result["error"] is None, result["payload"]
    assert result["payload"]["statusCode"] == 200
    assert json.loads(result["payload"]["body"]) == {"path": "/orders/7", "function": name}
    record = next(json.loads(line) for line in result["log"].splitlines() if "handling request" in line)
    assert record["function_name"] == name
    # A string, as on AWS: the context reads it from the environment.
    assert record["function_memory_size"] == "512"
    assert record["function_arn"].endswith(f":function:{name}")
    assert len(record["function_request_id"]) == 36
    assert record["cold_start"] is True
