"""The RDS Proxy between the functions and Aurora (AWS only), and reserved concurrency where a function
protects a dependency (declared in ``agora.operations``, applied on AWS only)."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from agora.operations import (
    CONSUMER_CONCURRENCY,
    ONE_AT_A_TIME,
    SQS_MIN_CONCURRENCY,
    Consumer,
    Internal,
    Operation,
    Service,
)
from stacks import names
from stacks.constructs.data import (
    PROXY_BORROW_TIMEOUT,
    PROXY_MAX_CONNECTIONS_PERCENT,
    PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
)
from stacks.platform_stack import DATABASE_PROXY_ENDPOINT
from stacks.service_stack import MIGRATOR
from tests.infra.synthesis import Resource, Synthesis, as_list, references

# Lambda's default concurrency per account and Region, and what AWS keeps unreserved in it.
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100
HOST = "AGORA_DATABASE_HOST"

Declaration = Operation | Consumer | Internal


def published(synth: Synthesis) -> dict[str, Any]:
    """The platform's SSM parameters: key -> the value it publishes."""
    prefix = names.parameter(synth.stage, "")
    return {
        p.props["Name"].removeprefix(prefix): p.props["Value"]
        for p in synth.resources("AWS::SSM::Parameter", names.PLATFORM)
    }


def the_proxy(synth: Synthesis) -> Resource:
    (proxy,) = synth.resources("AWS::RDS::DBProxy")
    return proxy


def postgres(services: tuple[Service, ...]) -> set[str]:
    return {s.name for s in services if s.uses_postgres}


def declarations(services: tuple[Service, ...]) -> list[Declaration]:
    return [d for s in services for d in s.functions]


def group_ingress(synth: Synthesis, group_id: str) -> list[dict[str, Any]]:
    """Every ingress rule of a platform security group: inline, and the separate resources."""
    group = synth.resource(names.PLATFORM, group_id)
    rules = list(group.props.get("SecurityGroupIngress", []))
    rules += [
        r.props
        for r in synth.resources("AWS::EC2::SecurityGroupIngress", names.PLATFORM)
        if r.props["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    return rules


def json_key(value: Any) -> str:
    """A template value as something a set can hold."""
    return repr(sorted(value.items())) if isinstance(value, dict) else repr(value)


def test_the_proxy_is_on_aws_only_in_the_platform_and_requires_tls(synth: Synthesis):
    proxies = synth.resources("AWS::RDS::DBProxy")
    if synth.target == "localstack":  # LocalStack community has no RDS
        assert not proxies and not synth.resources("AWS::RDS::DBProxyTargetGroup")
        assert DATABASE_PROXY_ENDPOINT not in published(synth)
        return
    proxy = the_proxy(synth)
    assert proxy.stack == names.PLATFORM
    assert proxy.props["EngineFamily"] == "POSTGRESQL"
    assert proxy.props["RequireTLS"] is True
    # The functions sign in with their secret's password: no IAM authentication.
    assert {auth["IAMAuth"] for auth in proxy.props["Auth"]} == {"DISABLED"}
    assert {auth["AuthScheme"] for auth in proxy.props["Auth"]} == {"SECRETS"}
    (target,) = synth.resources("AWS::RDS::DBProxyTargetGroup")
    assert target.props["DBProxyName"] == {"Ref": proxy.id}
    (cluster,) = synth.resources("AWS::RDS::DBCluster")
    assert target.props["DBClusterIdentifiers"] == [{"Ref": cluster.id}]
    assert target.props["ConnectionPoolConfigurationInfo"] == {
        "MaxConnectionsPercent": PROXY_MAX_CONNECTIONS_PERCENT,
        "MaxIdleConnectionsPercent": PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
        "ConnectionBorrowTimeout": PROXY_BORROW_TIMEOUT.to_seconds(),
    }
    assert PROXY_MAX_IDLE_CONNECTIONS_PERCENT <= PROXY_MAX_CONNECTIONS_PERCENT
    # In the subnets the functions run in, as the platform publishes them.
    subnets = published(synth)["private-subnet-ids"]["Fn::Join"][1]
    assert proxy.props["VpcSubnetIds"] == subnets


def test_the_proxy_registers_exactly_the_postgres_services_role_secrets(synth: Synthesis, services):
    if synth.target == "localstack":
        return
    proxy = the_proxy(synth)
    values = published(synth)
    own = {values[f"database-secret-arn-{service}"]["Ref"] for service in postgres(services)}
    registered = [auth["SecretArn"]["Ref"] for auth in proxy.props["Auth"]]
    assert sorted(registered) == sorted(own)
    assert values["database-master-secret-arn"]["Ref"] not in registered, "the master connects directly"
    # The proxy's role reads those secrets and nothing else.
    role = proxy.props["RoleArn"]["Fn::GetAtt"][0]
    read = set()
    for policy in synth.resources("AWS::IAM::Policy", names.PLATFORM):
        if {"Ref": role} not in policy.props["Roles"]:
            continue
        for statement in as_list(policy.props["PolicyDocument"]["Statement"]):
            assert set(as_list(statement["Action"])) <= {
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
            }
            read |= {r["Ref"] for r in as_list(statement["Resource"])}
    assert read == own


def test_every_postgres_function_but_the_migrator_connects_through_the_proxy(synth: Synthesis, services):
    uses_postgres = postgres(services)
    if synth.target == "aws":
        assert published(synth)[DATABASE_PROXY_ENDPOINT] == {"Fn::GetAtt": [the_proxy(synth).id, "Endpoint"]}
    through_proxy = 0
    for decl in declarations(services):
        fn = synth.functions()[synth.function_name(decl.function_name_suffix)]
        variables = fn.props["Environment"]["Variables"]
        if synth.target == "aws" and decl.service in uses_postgres and decl.id != MIGRATOR:
            (ref,) = references(variables[HOST])
            assert synth.parameter_key(fn.stack, ref) == DATABASE_PROXY_ENDPOINT, decl
            through_proxy += 1
        else:
            assert HOST not in variables, decl
    if synth.target == "aws":  # every function of a PostgreSQL service, its migrator aside
        assert through_proxy == sum(len(s.functions) - 1 for s in services if s.uses_postgres)


def test_the_migrators_handler_is_the_one_left_on_the_cluster(synth: Synthesis, services):
    # What the proxy does not hold: the master secret, with which the migrator creates the roles.
    for service in postgres(services):
        migrator = synth.functions()[synth.function_name(f"{service}-{MIGRATOR}")]
        assert migrator.props["Handler"] == "agora.migrate.handler"
        assert "AGORA_DATABASE_MASTER_SECRET_ARN" in migrator.props["Environment"]["Variables"]


def test_only_the_functions_group_reaches_the_proxy_and_the_proxy_reaches_the_cluster(synth: Synthesis):
    if synth.target == "localstack":
        return
    proxy = the_proxy(synth)
    ((proxy_group, _),) = [g["Fn::GetAtt"] for g in proxy.props["VpcSecurityGroupIds"]]
    functions_group = published(synth)["functions-security-group-id"]
    rules = group_ingress(synth, proxy_group)
    assert rules
    for rule in rules:
        assert rule["SourceSecurityGroupId"] == functions_group, rule
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432), rule
        assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule), rule
    (cluster,) = synth.resources("AWS::RDS::DBCluster")
    ((database_group, _),) = [g["Fn::GetAtt"] for g in cluster.props["VpcSecurityGroupIds"]]
    sources = {json_key(r["SourceSecurityGroupId"]) for r in group_ingress(synth, database_group)}
    # The proxy; and the functions' group, for the migrators and the rotation functions.
    assert sources == {json_key({"Fn::GetAtt": [proxy_group, "GroupId"]}), json_key(functions_group)}


def test_reserved_concurrency_is_set_as_declared_on_aws_and_absent_on_localstack(synth: Synthesis, services):
    declared = declarations(services)
    assert any(d.reserved_concurrency for d in declared)
    for decl in declared:
        fn = synth.functions()[synth.function_name(decl.function_name_suffix)]
        expected = decl.reserved_concurrency if synth.target == "aws" else None
        assert fn.props.get("ReservedConcurrentExecutions") == expected, decl
    publisher = synth.functions()[synth.function_name("platform-api-routes")]
    assert "ReservedConcurrentExecutions" not in publisher.props


def test_each_consumers_queue_polls_no_more_batches_than_its_function_may_run(synth: Synthesis, services):
    for consumer in (c for s in services for c in s.consumers):
        fn = synth.functions()[synth.function_name(consumer.function_name_suffix)]
        (mapping,) = [
            m for m in synth.resources("AWS::Lambda::EventSourceMapping", fn.stack) if invokes(synth, m, fn)
        ]
        scaling = mapping.props.get("ScalingConfig")
        if synth.target == "localstack" or consumer.reserved_concurrency is None:
            assert scaling is None, consumer
            continue
        assert scaling == {"MaximumConcurrency": consumer.reserved_concurrency}, consumer
        assert scaling["MaximumConcurrency"] <= fn.props["ReservedConcurrentExecutions"]


def invokes(synth: Synthesis, mapping: Resource, fn: Resource) -> bool:
    """Does an event source mapping invoke this function (itself, or its alias)?"""
    for ref in references(mapping.props["FunctionName"]):
        target = synth.resource(mapping.stack, ref)
        if ref == fn.id or (
            target.type == "AWS::Lambda::Alias" and target.props["FunctionName"] == {"Ref": fn.id}
        ):
            return True
    return False


def test_reserved_concurrency_leaves_the_account_at_least_100_unreserved(synth: Synthesis):
    reserved = sum(fn.props.get("ReservedConcurrentExecutions", 0) for fn in synth.functions().values())
    if synth.target == "localstack":
        assert reserved == 0
        return
    assert reserved > 0
    assert reserved <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM, reserved


def test_relays_sweeps_and_consumers_declare_their_reservation_and_nothing_else_does(services):
    for decl in declarations(services):
        scheduled = isinstance(decl, Internal) and decl.schedule_minutes is not None
        if scheduled:
            assert decl.reserved_concurrency == ONE_AT_A_TIME, decl
        elif isinstance(decl, Consumer):
            assert decl.reserved_concurrency == CONSUMER_CONCURRENCY, decl
        else:
            # Operations (checkout included: see agora.operations), internal calls, migrators.
            assert decl.reserved_concurrency is None, decl


def test_every_postgresql_operation_waiting_for_a_proxy_connection_is_refused_in_time(services):
    """Checkout reserves no concurrency (agora.operations): past what the proxy lends, a request waits
    at most the borrow timeout and its statement's, and must still have time to answer 503."""
    from agora.settings import Settings
    from stacks.constructs.data import PROXY_BORROW_TIMEOUT

    statement_s = Settings.model_fields["db_statement_timeout_ms"].default / 1000
    for service in services:
        if not service.uses_postgres:
            continue
        for operation in service.operations:
            if operation.handler == "agora.health.handler":
                continue  # liveness: it touches no database
            assert PROXY_BORROW_TIMEOUT.to_seconds() + statement_s < operation.timeout_s, operation.id


def test_a_consumer_reserves_at_least_what_its_queue_may_poll_at_once():
    assert CONSUMER_CONCURRENCY >= SQS_MIN_CONCURRENCY
    with pytest.raises(ValueError, match="reserved_concurrency 1"):
        Consumer("orders", "payment_events", "h", event_types=("payment.completed",), reserved_concurrency=1)
    with pytest.raises(ValueError, match="reserved_concurrency 0"):
        Internal("orders", "sweep", "h", schedule_minutes=1, reserved_concurrency=0)
    assert (
        Internal("orders", "sweep", "h", schedule_minutes=1, reserved_concurrency=1).reserved_concurrency == 1
    )


def test_the_layers_ca_bundle_trusts_the_proxys_certificates_too():
    # RDS Proxy presents certificates from ACM, chained to the Amazon Root CAs, not the RDS CAs: the
    # bundle libpq is given for sslmode=verify-full must hold both.
    assert {f"CN=Amazon Root CA {n},O=Amazon,C=US" for n in range(1, 5)} <= bundle_subjects()
    assert any("Amazon RDS" in subject for subject in bundle_subjects())


def bundle_subjects() -> set[str]:
    """The subjects of the certificates the dependency layer's bundle holds."""
    from cryptography import x509

    from stacks.packaging import rds_ca_bundle

    pems = re.findall(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", rds_ca_bundle(), re.DOTALL
    )
    subjects = set()
    for pem in pems:
        with warnings.catch_warnings():
            # One RDS certificate has a serial number RFC 5280 disallows: cryptography warns about it.
            warnings.simplefilter("ignore")
            subjects.add(x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string())
    return subjects
