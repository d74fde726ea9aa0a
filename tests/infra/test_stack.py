"""The synthesized template, for both targets, against the operation declarations."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from agora.identity import EVENT_OWNERS, owner_of
from agora.operations import DOMAIN_SERVICES, Auth
from stacks.constructs.event_bus import patterns_of


def resources(template, type_: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_)


def test_every_declared_operation_has_a_function_and_a_method(target, services):
    _, _, template = target
    methods = resources(template, "AWS::ApiGateway::Method")
    routed = {(m["Properties"]["HttpMethod"], m["Properties"].get("OperationName")) for m in methods.values()}
    for service in services:
        for op in service.operations:
            assert (op.method, f"{op.service}.{op.id}") in routed, op
            template.has_resource_properties(
                "AWS::Lambda::Function",
                {
                    "Handler": op.handler,
                    "Environment": {"Variables": Match.object_like({"AGORA_SERVICE": op.service})},
                },
            )


def test_every_function_is_traced_logged_and_sized(target):
    _, _, template = target
    functions = resources(template, "AWS::Lambda::Function")
    assert functions
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["Runtime"] == "python3.13", name
        assert isinstance(props["MemorySize"], int), name
        assert isinstance(props["Timeout"], int), name
        assert "LoggingConfig" in props and "LogGroup" in props["LoggingConfig"], name
    for name, group in resources(template, "AWS::Logs::LogGroup").items():
        assert "RetentionInDays" in group["Properties"], name


def test_the_stack_stays_well_inside_cloudformations_resource_limit(target):
    _, _, template = target
    # CloudFormation refuses a stack of more than 500 resources; leave room for the services to grow.
    # 490: SnapStart's version and alias per function of users and products take the AWS template to
    # 487; one stack per service is what gives the rest of the services SnapStart (README, known limits).
    assert len(template.to_json()["Resources"]) < 490


def test_every_rule_feeds_a_queue_with_a_dlq_and_a_partial_batch_consumer(target, services):
    _, _, template = target
    rules = {
        k: r for k, r in resources(template, "AWS::Events::Rule").items() if "EventPattern" in r["Properties"]
    }
    consumers = [c for s in services for c in s.consumers]
    assert len(rules) == sum(len(patterns_of(c)) for c in consumers)
    queues = resources(template, "AWS::SQS::Queue")
    with_dlq = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(with_dlq) == len(consumers)
    for queue in with_dlq:
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_method_throttling_matches_the_declared_budgets(target, services):
    _, _, template = target
    stage = next(iter(resources(template, "AWS::ApiGateway::Stage").values()))["Properties"]
    settings = {
        (s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"] if s["ResourcePath"] != "/*"
    }
    for service in services:
        for op in service.operations:
            limit = service.limit_for(op)
            assert limit is not None
            # Stage MethodSettings name a resource path with "/" escaped as "~1".
            s = settings[("/" + op.path.replace("/", "~1"), op.method)]
            assert s["ThrottlingRateLimit"] == limit.per_second
            assert s["ThrottlingBurstLimit"] == limit.burst
    assert stage["TracingEnabled"] is True


def test_seed_gateway_budgets_are_recognisable(services):
    # The seed's four services; the docs service has a budget of its own.
    budgets = {
        s.name: s.rate_limit.per_minute for s in services if s.rate_limit and s.name in DOMAIN_SERVICES
    }
    assert budgets == {"users": 100, "products": 200, "orders": 50, "payments": 30}
    health = {op.path for s in services for op in s.operations if op.id == "health"}
    assert health == {f"/api/{n}/health" for n in ("users", "products", "orders", "payments")}
    assert all(op.auth is Auth.PUBLIC for s in services for op in s.operations if op.id == "health")


def test_dashboards_and_alarms_exist(target, services):
    _, _, template = target
    dashboards = resources(template, "AWS::CloudWatch::Dashboard")
    names = {d["Properties"]["DashboardName"] for d in dashboards.values()}
    assert {"agora-overview", *(f"agora-{s.name}" for s in services)} <= names
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    described = json.dumps([a["Properties"].get("AlarmDescription") for a in alarms.values()])
    assert "5XX" in described and "p99 latency" in described and "reached the DLQ" in described
    functions = resources(template, "AWS::Lambda::Function")
    for kind in ("Errors", "Throttles"):
        watched = [
            json.dumps(m)
            for a in alarms.values()
            for m in a["Properties"].get("Metrics", [])
            if m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == kind
        ]
        for logical_id in functions:
            assert sum(logical_id in w for w in watched) == 1, f"{logical_id}: one {kind} alarm"
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the alarm topic"


def test_cloud_map_registers_every_domain_service(target, services):
    _, _, template = target
    template.has_resource_properties("AWS::ServiceDiscovery::HttpNamespace", {"Name": "agora"})
    registered = {
        s["Properties"]["Name"] for s in resources(template, "AWS::ServiceDiscovery::Service").values()
    }
    assert registered == {s.name for s in services if s.route_prefixes}
    for instance in resources(template, "AWS::ServiceDiscovery::Instance").values():
        assert "base_url" in instance["Properties"]["InstanceAttributes"]
    published = [
        i["Properties"]["InstanceAttributes"]["jwks_url"]
        for i in resources(template, "AWS::ServiceDiscovery::Instance").values()
        if "jwks_url" in i["Properties"]["InstanceAttributes"]
    ]
    assert len(published) == 1, "the users service says where its public keys are"
    assert "/api/auth/.well-known/jwks.json" in json.dumps(published[0]), published


def test_event_bus_is_named_and_archived(target):
    _, _, template = target
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "agora"})
    template.resource_count_is("AWS::Events::Archive", 1)


def test_targets_differ_only_where_localstack_lacks_a_service(target):
    name, _, template = target
    rds = resources(template, "AWS::RDS::DBCluster")
    cache = resources(template, "AWS::ElastiCache::ServerlessCache")
    api = next(iter(resources(template, "AWS::ApiGateway::RestApi").values()))["Properties"]
    tags = {t["Key"]: t["Value"] for t in api.get("Tags", [])}
    if name == "aws":
        assert len(rds) == 1 and len(cache) == 1
        assert "_custom_id_" not in tags
        arch = {
            tuple(f["Properties"]["Architectures"])
            for f in resources(template, "AWS::Lambda::Function").values()
        }
        assert arch == {("arm64",)}
    else:
        assert not rds and not cache
        assert tags["_custom_id_"] == "agora"


def test_no_secret_value_is_in_the_template(target):
    _, _, template = target
    text = json.dumps(template.to_json())
    assert "password123" not in text and "default-secret" not in text
    assert "PRIVATE KEY" not in text and '"kty"' not in text
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert any("GenerateSecretString" in s["Properties"] for s in secrets.values())


def test_the_token_keys_start_empty_and_the_key_manager_fills_them_on_deploy(target):
    _, _, template = target
    secrets = resources(template, "AWS::SecretsManager::Secret")
    key_secrets = {
        k: s for k, s in secrets.items() if k.startswith(("DataJwtSigningKeys", "DataJwtPublicKeys"))
    }
    assert len(key_secrets) == 2
    for secret in key_secrets.values():
        generated = secret["Properties"]["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"]) == {"keys": []}
    (keys,) = resources(template, "Custom::AgoraSigningKeys").values()
    functions = resources(template, "AWS::Lambda::Function")
    manager = keys["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    assert functions[manager]["Properties"]["Handler"] == "users.handlers.signing_keys.handler"
    assert set(keys["Properties"]) >= {"SigningKeys", "PublicKeys"}
    (keys_id,) = resources(template, "Custom::AgoraSigningKeys")
    for logical_id, fn in functions.items():
        if logical_id != manager:
            assert keys_id in fn.get("DependsOn", []), f"{logical_id} may start before a key exists"


def test_every_function_verifies_with_public_keys_and_only_users_functions_sign(target):
    _, _, template = target
    for fn in resources(template, "AWS::Lambda::Function").values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert "AGORA_JWT_SECRET_ARN" not in variables
        assert variables["AGORA_JWT_PUBLIC_KEYS_ARN"]["Ref"].startswith("DataJwtPublicKeys")
        signs = "AGORA_JWT_SIGNING_KEY_ARN" in variables
        assert signs == (variables["AGORA_SERVICE"] == "users")


def test_every_rule_matches_the_owner_of_its_event_types(target, services):
    _, _, template = target
    rules = [r["Properties"] for r in resources(template, "AWS::Events::Rule").values()]
    patterns = [r["EventPattern"] for r in rules if "EventPattern" in r]
    owners = sorted(set(EVENT_OWNERS.values()))
    for pattern in patterns:
        assert set(pattern) == {"source", "detail-type"} or pattern == {"source": owners}, pattern
        assert all(isinstance(s, str) and s in owners for s in pattern["source"]), "exact sources, no prefix"
        for event_type in pattern.get("detail-type", []):
            assert pattern["source"] == [owner_of(event_type)], pattern
    matched = {(t, s) for p in patterns for t in p.get("detail-type", ["*"]) for s in p["source"]}
    for consumer in (c for s in services for c in s.consumers):
        for event_type in consumer.event_types:
            if event_type == "*":
                assert {("*", owner) for owner in owners} <= matched
            else:
                assert (event_type, owner_of(event_type)) in matched


def test_postgres_services_migrate_on_deploy_and_sweep_their_outbox(target, services):
    _, _, template = target
    postgres = [s for s in services if s.uses_postgres]
    migrations = resources(template, "Custom::AgoraMigrations")
    assert len(migrations) == len(postgres)
    sweeps = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    scheduled = [i for s in services for i in (*s.internal, *s.plumbing) if i.schedule_minutes]
    assert len(sweeps) == len(scheduled)
    assert {i.service for i in scheduled} >= {s.name for s in postgres}
    for service in postgres:
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": "agora.outbox.handler",
                "Environment": {
                    "Variables": Match.object_like({"AGORA_DATABASE_NAME": f"agora_{service.name}"})
                },
            },
        )


def test_only_postgres_services_get_the_database_secret(target, services):
    _, _, template = target
    for fn in resources(template, "AWS::Lambda::Function").values():
        variables = fn["Properties"]["Environment"]["Variables"]
        uses_postgres = next(s for s in services if s.name == variables["AGORA_SERVICE"]).uses_postgres
        assert ("AGORA_DATABASE_SECRET_ARN" in variables) == uses_postgres


def test_internal_operations_are_invocable_by_their_declared_callers_only(target, services):
    _, _, template = target
    functions = resources(template, "AWS::Lambda::Function")
    aliases = resources(template, "AWS::Lambda::Alias")
    policies = resources(template, "AWS::IAM::Policy")
    for service in services:
        for internal in service.internal:
            (logical_id,) = [
                k
                for k, f in functions.items()
                if f["Properties"]["Handler"] == internal.handler
                and f["Properties"]["Environment"]["Variables"]["AGORA_SERVICE"] == service.name
            ]
            # What callers invoke: the function, or its alias when it starts from a SnapStart snapshot.
            invoked = [k for k, a in aliases.items() if a["Properties"]["FunctionName"]["Ref"] == logical_id]
            grantees = set()
            for policy in policies.values():
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    if "lambda:InvokeFunction" in json.dumps(statement["Action"]) and any(
                        name in json.dumps(statement["Resource"]) for name in invoked or [logical_id]
                    ):
                        grantees |= {r["Ref"] for r in policy["Properties"]["Roles"]}
            callers = {c.title() for c in internal.callers}
            assert all(any(role.startswith(f"{c}Functions") for c in callers) for role in grantees), grantees
            assert bool(grantees) == bool(internal.callers)
