"""The synthesized stacks, for both targets, against the operation declarations, looked at as one system."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from agora.identity import EVENT_OWNERS, owner_of
from agora.operations import DOMAIN_SERVICES, Auth
from stacks import names
from stacks.constructs.event_bus import BUS_NAME, patterns_of
from tests.infra.synthesis import Synthesis, arn_resource, refers_to, render


def test_every_declared_operation_has_a_function_and_a_method_in_its_services_stack(
    synth: Synthesis, services
):
    functions = synth.functions()
    for service in services:
        stack = names.service_stack(service.name)
        routed = {
            (m.props["HttpMethod"], m.props.get("OperationName"))
            for m in synth.resources("AWS::ApiGateway::Method", stack)
        }
        for op in service.operations:
            assert (op.method, f"{op.service}.{op.id}") in routed, op
            fn = functions[synth.function_name(op.function_name_suffix)]
            assert fn.stack == stack, op
            assert fn.props["Handler"] == op.handler, op
            assert fn.props["Environment"]["Variables"]["AGORA_SERVICE"] == op.service, op
    # No method the declarations do not know of (CORS preflights aside).
    declared = {f"{op.service}.{op.id}" for s in services for op in s.operations}
    for method in synth.resources("AWS::ApiGateway::Method"):
        if method.props["HttpMethod"] != "OPTIONS":
            assert method.props.get("OperationName") in declared, (method.stack, method.id)


def test_every_declared_function_is_deployed_once_traced_and_sized_as_declared(synth: Synthesis, services):
    functions = synth.functions()
    declared = [decl for s in services for decl in s.functions]
    for decl in declared:
        fn = functions[synth.function_name(decl.function_name_suffix)]
        props = fn.props
        assert fn.stack == names.service_stack(decl.service), decl.id
        assert props["Handler"] == decl.handler, decl.id
        assert props["TracingConfig"] == {"Mode": "Active"}, decl.id
        assert props["Runtime"] == "python3.13", decl.id
        assert props["MemorySize"] == decl.memory_mb, decl.id
        assert props["Timeout"] == decl.timeout_s, decl.id
    # Besides the declared functions, only the platform's route publisher.
    assert len(functions) == len(declared) + 1
    for group in synth.resources("AWS::Logs::LogGroup"):
        assert "RetentionInDays" in group.props, (group.stack, group.id)


def test_every_rule_feeds_a_queue_with_a_dlq_and_a_partial_batch_consumer(synth: Synthesis, services):
    for service in services:
        stack = names.service_stack(service.name)
        rules = [r for r in synth.resources("AWS::Events::Rule", stack) if "EventPattern" in r.props]
        assert len(rules) == sum(len(patterns_of(c)) for c in service.consumers), stack
        for rule in rules:
            # The platform's bus, found by its name: no stack refers to the platform's resources.
            assert rule.props["EventBusName"] == BUS_NAME, rule.id
        queues = synth.resources("AWS::SQS::Queue", stack)
        with_dlq = [q for q in queues if "RedrivePolicy" in q.props]
        assert len(with_dlq) == len(service.consumers), stack
        for queue in with_dlq:
            assert queue.props["RedrivePolicy"]["maxReceiveCount"] >= 1
        mappings = synth.resources("AWS::Lambda::EventSourceMapping", stack)
        assert len(mappings) == len(service.consumers), stack
        for mapping in mappings:
            assert mapping.props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert not synth.resources("AWS::Events::Rule", names.PLATFORM)


def test_seed_gateway_budgets_are_recognisable(services):
    # The seed's four services; the docs service has a budget of its own.
    budgets = {
        s.name: s.rate_limit.per_minute for s in services if s.rate_limit and s.name in DOMAIN_SERVICES
    }
    assert budgets == {"users": 100, "products": 200, "orders": 50, "payments": 30}
    health = {op.path for s in services for op in s.operations if op.id == "health"}
    assert health == {f"/api/{n}/health" for n in ("users", "products", "orders", "payments")}
    assert all(op.auth is Auth.PUBLIC for s in services for op in s.operations if op.id == "health")


def test_every_service_has_its_dashboard_and_the_overview_its_own_stack(synth: Synthesis, services):
    dashboards = {d.props["DashboardName"]: d.stack for d in synth.resources("AWS::CloudWatch::Dashboard")}
    assert dashboards == {
        "agora-overview": names.MONITORING,
        **{f"agora-{s.name}": names.service_stack(s.name) for s in services},
    }
    overview = json.dumps(
        [a.props.get("AlarmDescription") for a in synth.resources("AWS::CloudWatch::Alarm", names.MONITORING)]
    )
    assert "5XX" in overview and "p99 latency" in overview


def test_every_alarm_notifies_the_platforms_topic_and_watches_its_api_by_name(synth: Synthesis):
    # Named on both sides (stacks.names): no alarm refers to the platform's resources.
    (topic,) = synth.resources("AWS::SNS::Topic")
    assert topic.stack == names.PLATFORM
    (api,) = synth.resources("AWS::ApiGateway::RestApi")
    for alarm in synth.resources("AWS::CloudWatch::Alarm"):
        (action,) = alarm.props["AlarmActions"]
        assert arn_resource(render(action)) == ("sns", topic.props["TopicName"]), (alarm.stack, alarm.id)
        dimensions = [
            *alarm.props.get("Dimensions", []),
            *(
                d
                for m in alarm.props.get("Metrics", [])
                for d in m.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
            ),
        ]
        for dimension in dimensions:
            if dimension["Name"] == "ApiName":
                assert dimension["Value"] == api.props["Name"], (alarm.stack, alarm.id)
            if dimension["Name"] == "Stage":
                assert dimension["Value"] == synth.stage, (alarm.stack, alarm.id)


def test_every_function_is_in_exactly_one_errors_and_one_throttles_alarm_of_its_stack(synth: Synthesis):
    for fn in synth.functions().values():
        if synth.service_of(fn.stack) is None:
            continue  # the route publisher: a failed deploy step fails its stack's deployment
        alarms = synth.resources("AWS::CloudWatch::Alarm", fn.stack)
        for kind in ("Errors", "Throttles"):
            watching = [
                a.id
                for a in alarms
                for m in a.props.get("Metrics", [])
                if m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == kind
                and refers_to(m["MetricStat"]["Metric"]["Dimensions"], fn.id)
            ]
            assert len(watching) == 1, f"{fn.props['FunctionName']}: {kind} in {watching}"


def test_every_dead_letter_queue_is_alarmed_in_its_stack_and_shown_on_the_overview(
    synth: Synthesis, services
):
    overview = json.dumps(synth.resources("AWS::CloudWatch::Dashboard", names.MONITORING)[0].props)
    for service in services:
        stack = names.service_stack(service.name)
        dlqs = [q for q in synth.resources("AWS::SQS::Queue", stack) if "RedrivePolicy" not in q.props]
        assert len(dlqs) == len(service.consumers), stack
        alarms = synth.resources("AWS::CloudWatch::Alarm", stack)
        for dlq in dlqs:
            # Named: the overview, in another stack, finds it by name.
            assert dlq.props["QueueName"] in overview, dlq.props["QueueName"]
            watched = [
                a
                for a in alarms
                if a.props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
                and refers_to(a.props["Dimensions"], dlq.id)
            ]
            assert len(watched) == 1 and "reached the DLQ" in watched[0].props["AlarmDescription"], dlq.id


def test_cloud_map_registers_every_domain_service_from_its_own_stack(synth: Synthesis, services):
    (namespace,) = synth.resources("AWS::ServiceDiscovery::HttpNamespace")
    assert namespace.stack == names.PLATFORM and namespace.props["Name"] == "agora"
    registered = {s.props["Name"]: s.stack for s in synth.resources("AWS::ServiceDiscovery::Service")}
    assert registered == {s.name: names.service_stack(s.name) for s in services if s.route_prefixes}
    for entry in synth.resources("AWS::ServiceDiscovery::Service"):
        assert synth.parameter_key(entry.stack, entry.props["NamespaceId"]["Ref"]) == "namespace-id"
    instances = synth.resources("AWS::ServiceDiscovery::Instance")
    for instance in instances:
        assert "base_url" in instance.props["InstanceAttributes"]
    published = [
        i.props["InstanceAttributes"]["jwks_url"]
        for i in instances
        if "jwks_url" in i.props["InstanceAttributes"]
    ]
    assert len(published) == 1, "the users service says where its public keys are"
    assert "/api/auth/.well-known/jwks.json" in json.dumps(published[0]), published


def test_event_bus_is_named_and_archived_by_the_platform(synth: Synthesis):
    (bus,) = synth.resources("AWS::Events::EventBus")
    assert bus.stack == names.PLATFORM and bus.props["Name"] == BUS_NAME
    (archive,) = synth.resources("AWS::Events::Archive")
    assert archive.stack == names.PLATFORM


def test_targets_differ_only_where_localstack_lacks_a_service(synth: Synthesis):
    rds = synth.resources("AWS::RDS::DBCluster")
    cache = synth.resources("AWS::ElastiCache::ServerlessCache")
    (api,) = synth.resources("AWS::ApiGateway::RestApi")
    tags = {t["Key"]: t["Value"] for t in api.props.get("Tags", [])}
    assert {r.stack for r in [*rds, *cache]} <= {names.PLATFORM}
    if synth.target == "aws":
        assert len(rds) == 1 and len(cache) == 1
        assert "_custom_id_" not in tags
        architectures = {tuple(f.props["Architectures"]) for f in synth.functions().values()}
        assert architectures == {("arm64",)}
    else:
        assert not rds and not cache
        assert tags["_custom_id_"] == "agora"


SECRET_PROPERTIES = ("SecretString", "MasterUserPassword", "Password", "AuthToken", "SecretValue")


def literal_secrets(value: Any, where: str = "") -> list[str]:
    """Every property named like a secret whose value a template spells out (a string, not a reference
    or a generated value), with where it stands."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else key
            if key in SECRET_PROPERTIES and isinstance(item, str):
                found.append(here)
            found += literal_secrets(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += literal_secrets(item, f"{where}[{index}]")
    return found


def test_no_secret_value_is_written_into_a_template(synth: Synthesis):
    """On AWS every secret is generated or written at deploy time; no value reaches a template.  On
    LocalStack one secret is spelled out: the host's development server, which takes no password."""
    for name, document in synth.documents.items():
        for logical_id, resource in document.get("Resources", {}).items():
            for path in literal_secrets(resource.get("Properties", {})):
                local_server = (
                    synth.target == "localstack"
                    and logical_id.startswith("DataDatabaseSecret")
                    and path == "SecretString"
                )
                assert local_server, f"{name}: {logical_id}.{path} holds a literal secret"
                assert not json.loads(resource["Properties"]["SecretString"]).get("password"), logical_id
    for secret in synth.resources("AWS::SecretsManager::Secret"):
        template = secret.props.get("GenerateSecretString", {}).get("SecretStringTemplate", "{}")
        assert "password" not in json.loads(template), f"{secret.id}: the template names a password"


def test_the_token_keys_start_empty_and_the_users_key_manager_fills_them_on_deploy(synth: Synthesis):
    key_secrets = {
        s.id: s
        for s in synth.resources("AWS::SecretsManager::Secret")
        if s.id.startswith(("DataJwtSigningKeys", "DataJwtPublicKeys"))
    }
    assert len(key_secrets) == 2 and {s.stack for s in key_secrets.values()} == {names.PLATFORM}
    for secret in key_secrets.values():
        generated = secret.props["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"]) == {"keys": []}
    (keys,) = synth.resources("Custom::AgoraSigningKeys")
    assert keys.stack == names.service_stack("users")
    manager = synth.resource(keys.stack, keys.props["ServiceToken"]["Fn::GetAtt"][0])
    assert manager.props["Handler"] == "users.handlers.signing_keys.handler"
    # The key secrets as the platform published them.
    assert synth.parameter_key(keys.stack, keys.props["SigningKeys"]["Ref"]) == "signing-keys-arn"
    assert synth.parameter_key(keys.stack, keys.props["PublicKeys"]["Ref"]) == "public-keys-arn"


def test_no_users_function_but_the_key_manager_starts_before_a_key_exists(synth: Synthesis):
    (keys,) = synth.resources("Custom::AgoraSigningKeys")
    manager = keys.props["ServiceToken"]["Fn::GetAtt"][0]
    for fn in synth.resources("AWS::Lambda::Function", keys.stack):
        if fn.id != manager:
            assert keys.id in fn.depends_on, f"{fn.props['FunctionName']} may start before a key exists"


def test_every_function_verifies_with_public_keys_and_only_users_functions_sign(synth: Synthesis):
    for fn in synth.functions().values():
        if synth.service_of(fn.stack) is None:
            continue
        variables = fn.props["Environment"]["Variables"]
        assert "AGORA_JWT_SECRET_ARN" not in variables
        assert (
            synth.parameter_key(fn.stack, variables["AGORA_JWT_PUBLIC_KEYS_ARN"]["Ref"]) == "public-keys-arn"
        )
        signs = "AGORA_JWT_SIGNING_KEY_ARN" in variables
        assert signs == (variables["AGORA_SERVICE"] == "users")


def test_every_rule_matches_the_owner_of_its_event_types(synth: Synthesis, services):
    patterns = [
        r.props["EventPattern"] for r in synth.resources("AWS::Events::Rule") if "EventPattern" in r.props
    ]
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


def test_postgres_services_migrate_on_deploy_and_sweep_their_outbox(synth: Synthesis, services):
    postgres = {s.name for s in services if s.uses_postgres}
    migrations = Counter(m.stack for m in synth.resources("Custom::AgoraMigrations"))
    assert migrations == Counter(names.service_stack(s) for s in postgres)
    for migration in synth.resources("Custom::AgoraMigrations"):
        migrator = synth.resource(migration.stack, migration.props["ServiceToken"]["Fn::GetAtt"][0])
        assert migrator.props["Handler"] == "agora.migrate.handler"
    functions = synth.functions()
    for service in services:
        stack = names.service_stack(service.name)
        sweeps = [r for r in synth.resources("AWS::Events::Rule", stack) if "ScheduleExpression" in r.props]
        scheduled = [i for i in (*service.internal, *service.plumbing) if i.schedule_minutes]
        assert len(sweeps) == len(scheduled), stack
        if service.name in postgres:
            relay = functions[synth.function_name(f"{service.name}-outbox-relay")]
            assert relay.props["Handler"] == "agora.outbox.handler"
            variables = relay.props["Environment"]["Variables"]
            assert variables["AGORA_DATABASE_NAME"] == f"agora_{service.name}"


def test_only_postgres_services_get_a_database_secret(synth: Synthesis, services):
    uses_postgres = {s.name: s.uses_postgres for s in services}
    for fn in synth.functions().values():
        service = synth.service_of(fn.stack)
        if service is None:
            continue
        variables = fn.props["Environment"]["Variables"]
        assert ("AGORA_DATABASE_SECRET_ARN" in variables) == uses_postgres[service], fn.props["FunctionName"]


def test_a_declared_secret_is_made_in_its_services_stack_and_given_to_its_functions_alone(
    synth: Synthesis, services
):
    declared = [(service, secret) for service in services for secret in service.secrets]
    assert declared, "payments declares its webhook and request-hash secrets"
    for service, secret in declared:
        made = [s for s in synth.resources("AWS::SecretsManager::Secret") if s.id.startswith(secret.id)]
        assert [s.stack for s in made] == [names.service_stack(service.name)], secret.id
        for function in synth.functions().values():
            variables = function.props.get("Environment", {}).get("Variables", {})
            ours = synth.service_of(function.stack) == service.name
            assert (secret.variable in variables) == ours, (function.id, secret.variable)
