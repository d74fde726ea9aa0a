"""REST API gateway responses rendered from their templates and parameters, as on AWS.

The rendering on its own first (no LocalStack), then through a REST API shaped like Agora's:
gateway responses as ``stacks/constructs/api.py`` defines them (``_problem_response``).
"""

import json
import sys
import uuid
from pathlib import Path

import pytest
import requests
from localstack_harness import deploy, outputs
from werkzeug.datastructures import Headers

PLUGIN_ROOT = Path(__file__).resolve().parents[1] / "plugin"
sys.path.insert(0, str(PLUGIN_ROOT))

from agora_localstack.apigateway.gateway_responses import (  # noqa: E402
    MethodRequest,
    render_body,
    render_headers,
    select_template,
)

STAGE = "local"
REQUEST_ID_HEADER = "X-Request-ID"
PROBLEM_HEADERS = {
    "gatewayresponse.header.Content-Type": "'application/problem+json'",
    "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
    "gatewayresponse.header.X-Request-ID": "method.request.header.X-Request-ID",
}


def problem_template(code: str, title: str, status: int | None, **extra: str) -> str:
    """Agora's problem+json template: ``detail`` is the quoted message, unquoted in the template."""
    body: dict[str, object] = {
        "type": "https://agora.dev/problems/" + code.lower().replace("_", "-"),
        "title": title,
        "code": code,
        "detail": "$context.error.messageString",
        **extra,
    }
    if status:
        body["status"] = status
    return json.dumps(body).replace('"$context.error.messageString"', "$context.error.messageString")


# --- the rendering, without LocalStack -------------------------------------------------------------

CONTEXT = {
    "requestId": "req-1",
    "stage": STAGE,
    "identity": {"sourceIp": "127.0.0.1", "apiKey": None},
    "isCanaryRequest": False,
    "error": {
        "message": 'Missing "Authentication" Token',
        "messageString": 'Missing "Authentication" Token',
        "responseType": "MISSING_AUTHENTICATION_TOKEN",
    },
}


def test_message_string_is_a_quoted_json_string_and_message_is_raw():
    template = '{"detail": $context.error.messageString, "text": "$context.error.message"}'
    rendered = render_body(template, CONTEXT, {})
    assert rendered == (
        '{"detail": "Missing \\"Authentication\\" Token", "text": "Missing "Authentication" Token"}'
    )
    assert json.loads(render_body(problem_template("NOT_FOUND", "No such route", 404), CONTEXT, {})) == {
        "type": "https://agora.dev/problems/not-found",
        "title": "No such route",
        "code": "NOT_FOUND",
        "detail": 'Missing "Authentication" Token',
        "status": 404,
    }


def test_context_and_stage_variables_bare_braced_and_missing():
    template = (
        "$context.error.responseType ${context.requestId}/$context.identity.sourceIp."
        " $stageVariables.flavour [$context.nothing.here] [$context.identity.apiKey]"
        " $context.isCanaryRequest $util.escapeJavaScript('x') #if(true)"
    )
    assert render_body(template, CONTEXT, {"flavour": "vanilla"}) == (
        "MISSING_AUTHENTICATION_TOKEN req-1/127.0.0.1. vanilla [] []"
        " false $util.escapeJavaScript('x') #if(true)"
    )


def test_no_message_renders_null():
    assert render_body('{"message":$context.error.messageString}', {"error": {"message": None}}, {}) == (
        '{"message":null}'
    )


def test_template_selection_prefers_application_json_then_the_first():
    assert select_template({"text/plain": "a", "application/json": "b"}) == ("application/json", "b")
    assert select_template({"text/plain": "a", "application/xml": "c"}) == ("text/plain", "a")
    assert select_template({}) is None


def test_header_sources_static_request_stage_context_and_missing_dropped():
    request = MethodRequest(
        headers=Headers([("x-request-id", "abc"), ("X-Multi", "1"), ("X-Multi", "2")]),
        querystring={"note": ["first", "last"]},
        path={"id": "42"},
    )
    parameters = {
        **PROBLEM_HEADERS,
        "gatewayresponse.header.X-Multi": "method.request.multivalueheader.X-Multi",
        "gatewayresponse.header.X-Note": "method.request.querystring.note",
        "gatewayresponse.header.X-Notes": "method.request.multivaluequerystring.note",
        "gatewayresponse.header.X-Item": "method.request.path.id",
        "gatewayresponse.header.X-Flavour": "stageVariables.flavour",
        "gatewayresponse.header.X-Stage": "context.stage",
        "gatewayresponse.header.X-Ip": "context.identity.sourceIp",
        "gatewayresponse.header.X-Absent": "method.request.header.X-Not-Sent",
        "gatewayresponse.header.X-No-Path": "method.request.path.missing",
        "gatewayresponse.header.X-Body": "method.request.body",
        "gatewayresponse.querystring.ignored": "'x'",
    }
    assert render_headers(parameters, request, CONTEXT, {"flavour": "vanilla"}) == {
        "Content-Type": "application/problem+json",
        "Access-Control-Allow-Origin": "*",
        "X-Request-ID": "abc",
        "X-Multi": "1,2",
        "X-Note": "last",
        "X-Notes": "first,last",
        "X-Item": "42",
        "X-Flavour": "vanilla",
        "X-Stage": STAGE,
        "X-Ip": "127.0.0.1",
    }


# --- through LocalStack ----------------------------------------------------------------------------

ITEM_HANDLER = """
import json

def handler(event, context):
    item = event["pathParameters"]["id"]
    if item == "broken":
        return {"not": "a proxy response"}
    headers = {"Content-Type": "application/json"}
    return {"statusCode": 200, "headers": headers, "body": json.dumps({"id": item})}
"""


def create_api(localstack, name: str) -> tuple[str, str]:
    """A REST API with GET /items/{id} (Lambda proxy) and GET /keyed (MOCK, API key required)."""
    apigw = localstack.client("apigateway")
    api_id = apigw.create_rest_api(name=name)["id"]
    root_id = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")

    function_arn = localstack.client("lambda").get_function(
        FunctionName=localstack.create_function({"app.py": ITEM_HANDLER})
    )["Configuration"]["FunctionArn"]
    items = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api_id, resourceId=item, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=item,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )

    keyed = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="keyed")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=keyed, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=keyed,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    return api_id, f"{localstack.endpoint}/restapis/{api_id}/{STAGE}/_user_request_"


def deploy_stage(localstack, api_id: str) -> None:
    localstack.client("apigateway").create_deployment(
        restApiId=api_id, stageName=STAGE, variables={"flavour": "vanilla"}
    )


@pytest.fixture(scope="module")
def agora_api(localstack) -> str:
    """Agora's gateway responses, plus a few extra variables and headers to observe."""
    apigw = localstack.client("apigateway")
    api_id, url = create_api(localstack, f"gateway-responses-{uuid.uuid4().hex[:6]}")
    responses = {
        "MISSING_AUTHENTICATION_TOKEN": ("404", problem_template("NOT_FOUND", "No such route", 404), {}),
        "DEFAULT_4XX": (
            None,
            problem_template(
                "CLIENT_ERROR",
                "Request refused by the gateway",
                None,
                responseType="$context.error.responseType",
                requestId="$context.requestId",
                message="$context.error.message",
                flavour="$stageVariables.flavour",
            ),
            {},
        ),
        "DEFAULT_5XX": (
            None,
            problem_template("GATEWAY_ERROR", "The gateway could not complete the request", None),
            {
                "gatewayresponse.header.X-Item": "method.request.path.id",
                "gatewayresponse.header.X-Note": "method.request.querystring.note",
                "gatewayresponse.header.X-Absent": "method.request.header.X-Not-Sent",
            },
        ),
    }
    for response_type, (status, template, headers) in responses.items():
        apigw.put_gateway_response(
            restApiId=api_id,
            responseType=response_type,
            **({"statusCode": status} if status else {}),
            responseParameters={**PROBLEM_HEADERS, **headers},
            responseTemplates={"application/json": template},
        )
    deploy_stage(localstack, api_id)
    return url


@pytest.mark.localstack
def test_unknown_route_answers_agoras_problem_json(agora_api):
    response = requests.get(f"{agora_api}/nowhere", headers={REQUEST_ID_HEADER: "req-42"}, timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers[REQUEST_ID_HEADER] == "req-42"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.json() == {
        "type": "https://agora.dev/problems/not-found",
        "title": "No such route",
        "code": "NOT_FOUND",
        "detail": "Missing Authentication Token",
        "status": 404,
    }


@pytest.mark.localstack
def test_header_from_a_request_header_that_is_absent_is_left_out(agora_api):
    response = requests.get(f"{agora_api}/nowhere", timeout=30)
    assert response.status_code == 404
    assert REQUEST_ID_HEADER not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["detail"] == "Missing Authentication Token"


@pytest.mark.localstack
def test_default_4xx_applies_to_a_type_without_its_own_response(agora_api):
    # INVALID_API_KEY has no response of its own: DEFAULT_4XX's template and headers, its own 403.
    response = requests.get(f"{agora_api}/keyed", headers={REQUEST_ID_HEADER: "req-43"}, timeout=30)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers[REQUEST_ID_HEADER] == "req-43"
    body = response.json()
    assert body == {
        "type": "https://agora.dev/problems/client-error",
        "title": "Request refused by the gateway",
        "code": "CLIENT_ERROR",
        "detail": "Forbidden",
        "responseType": "INVALID_API_KEY",
        "requestId": response.headers["x-amzn-RequestId"],
        "message": "Forbidden",
        "flavour": "vanilla",
    }


@pytest.mark.localstack
def test_default_5xx_maps_path_and_query_parameters(agora_api):
    ok = requests.get(f"{agora_api}/items/7", timeout=60)
    assert (ok.status_code, ok.json()) == (200, {"id": "7"})
    assert ok.headers["Content-Type"] == "application/json"

    # A malformed Lambda proxy response is a DEFAULT_5XX error (502) on AWS and here.
    response = requests.get(
        f"{agora_api}/items/broken", params={"note": "hello"}, headers={REQUEST_ID_HEADER: "r"}, timeout=60
    )
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/problem+json"
    assert (response.headers["X-Item"], response.headers["X-Note"], response.headers[REQUEST_ID_HEADER]) == (
        "broken",
        "hello",
        "r",
    )
    assert "X-Absent" not in response.headers
    assert response.json() == {
        "type": "https://agora.dev/problems/gateway-error",
        "title": "The gateway could not complete the request",
        "code": "GATEWAY_ERROR",
        "detail": "Internal server error",
    }


@pytest.mark.localstack
def test_api_without_gateway_responses_answers_as_before(localstack):
    api_id, url = create_api(localstack, f"no-gateway-responses-{uuid.uuid4().hex[:6]}")
    deploy_stage(localstack, api_id)

    response = requests.get(f"{url}/nowhere", headers={REQUEST_ID_HEADER: "req-44"}, timeout=30)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert response.text == '{"message": "Missing Authentication Token"}'
    assert REQUEST_ID_HEADER not in response.headers
    assert "Access-Control-Allow-Origin" not in response.headers

    keyed = requests.get(f"{url}/keyed", timeout=30)
    assert (keyed.status_code, keyed.json()) == (403, {"message": "Forbidden"})


@pytest.mark.localstack
def test_gateway_response_deployed_by_cloudformation(localstack):
    # Agora's stacks declare theirs as AWS::ApiGateway::GatewayResponse (CDK's add_gateway_response).
    suffix = uuid.uuid4().hex[:6]
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"Name": f"gateway-responses-{suffix}"},
            },
            "Ping": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "HttpMethod": "GET",
                    "AuthorizationType": "NONE",
                    "Integration": {
                        "Type": "MOCK",
                        "RequestTemplates": {"application/json": '{"statusCode": 200}'},
                    },
                },
            },
            "NotFound": {
                "Type": "AWS::ApiGateway::GatewayResponse",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                    "StatusCode": "404",
                    "ResponseParameters": PROBLEM_HEADERS,
                    "ResponseTemplates": {
                        "application/json": problem_template("NOT_FOUND", "No such route", 404)
                    },
                },
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "DependsOn": ["Ping", "NotFound"],
                "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": STAGE},
            },
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    stack = deploy(localstack.client("cloudformation"), f"gateway-responses-{suffix}", template)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    url = f"{localstack.endpoint}/restapis/{outputs(stack)['ApiId']}/{STAGE}/_user_request_"

    response = requests.get(f"{url}/nowhere", headers={REQUEST_ID_HEADER: "req-45"}, timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers[REQUEST_ID_HEADER] == "req-45"
    assert response.json()["detail"] == "Missing Authentication Token"
