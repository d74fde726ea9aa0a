"""Least privilege in the synthesized templates: no wildcard on data, secrets and events kept by owners,
internal functions invoked by their callers only, and a route publisher that can deploy one stage."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from agora.operations import DOMAIN_SERVICES, SERVICE_NAMES
from stacks import names
from stacks.constructs.event_bus import BUS_NAME
from stacks.constructs.functions import LIVE_ALIAS, uses_snap_start
from tests.infra.synthesis import Synthesis, arn_resource, as_list, invoked_function, render

# Services that hold data or carry messages: every grant on them names its resources and its actions.
DATA_SERVICES = ("dynamodb", "rds", "rds-data", "secretsmanager", "ssm", "events", "sqs")
POSTGRES = {"products", "orders", "payments"}
MASTER = "database-master-secret-arn"
SIGNING_KEYS = "signing-keys-arn"
PUBLIC_KEYS = "public-keys-arn"
# Each secret (by the platform parameter that names it, or a service's own secret by logical id
# prefix) and the services that may read it.
SECRET_READERS = {
    SIGNING_KEYS: {"users"},
    PUBLIC_KEYS: set(SERVICE_NAMES),
    MASTER: POSTGRES,  # the migrators, who create each service's role
    # Each service's own role (the migrators read it too, to create the role).
    **{f"database-secret-arn-{s}": {s} for s in POSTGRES},
    "WebhookSigningSecret": {"payments"},
    "RequestHashKey": {"payments"},
}
READ_SECRET = ("secretsmanager:GetSecretValue", "secretsmanager:*", "*")
# The platform's RDS Proxy (AWS) signs in to Aurora as each service's role: it reads those secrets alone.
PROXY_READS = {f"database-secret-arn-{s}" for s in POSTGRES}
Role = tuple[str, str]  # (stack, logical id)


def role_statements(synth: Synthesis) -> list[tuple[Role, dict[str, Any]]]:
    """(role, statement) for every identity policy any template attaches to a role."""
    found = []
    for policy in [*synth.resources("AWS::IAM::Policy"), *synth.resources("AWS::IAM::ManagedPolicy")]:
        for role in policy.props.get("Roles", []):
            for statement in as_list(policy.props["PolicyDocument"]["Statement"]):
                found.append(((policy.stack, role["Ref"]), statement))
    for role in synth.resources("AWS::IAM::Role"):
        for policy in role.props.get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                found.append(((role.stack, role.id), statement))
    assert found, "the stacks grant something"
    return found


def functions_by_role(synth: Synthesis) -> dict[Role, list[str]]:
    """The names of the functions that run under each role."""
    found: dict[Role, list[str]] = defaultdict(list)
    for name, fn in synth.functions().items():
        found[(fn.stack, fn.props["Role"]["Fn::GetAtt"][0])].append(name)
    return found


def role_of(synth: Synthesis, function_name: str) -> Role:
    fn = synth.functions()[function_name]
    return fn.stack, fn.props["Role"]["Fn::GetAtt"][0]


def is_data_action(action: str) -> bool:
    prefix = action.split(":", 1)[0].lower()
    return action == "*" or prefix in DATA_SERVICES or action.lower().startswith("lambda:invoke")


def secret_of(synth: Synthesis, stack: str, resource: Any) -> str:
    """Which secret a statement's resource is: a platform one (by its parameter) or a service's own."""
    ref = resource.get("Ref", "") if isinstance(resource, dict) else str(resource)
    key = synth.parameter_key(stack, ref)
    if key is None and stack == names.PLATFORM:
        # One of the platform's own secrets: known by the parameter the platform publishes it under.
        published = {
            render(p.props["Value"]): p.props["Name"].rsplit("/", 1)[1]
            for p in synth.resources("AWS::SSM::Parameter", names.PLATFORM)
        }
        key = published.get(render(resource))
    if key is not None:
        assert key in SECRET_READERS, f"{stack}: a platform secret no test knows the owner of: {key}"
        return key
    matches = [prefix for prefix in SECRET_READERS if ref.startswith(prefix)]
    assert len(matches) == 1, f"{stack}: a secret no test knows the owner of: {resource}"
    return matches[0]


def readers_of(synth: Synthesis) -> dict[str, set[Role]]:
    """Per secret, the roles that may read its value."""
    readers: dict[str, set[Role]] = {secret: set() for secret in SECRET_READERS}
    for role, statement in role_statements(synth):
        actions = as_list(statement.get("Action", []))
        if statement.get("Effect") != "Allow" or not any(a in READ_SECRET for a in actions):
            continue
        for resource in as_list(statement["Resource"]):
            readers[secret_of(synth, role[0], resource)].add(role)
    return readers


def test_no_wildcard_action_or_resource_on_a_data_service(synth: Synthesis):
    for role, statement in role_statements(synth):
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        assert "*" not in actions, (role, statement)
        data_actions = [a for a in actions if is_data_action(a)]
        if not data_actions or statement.get("Effect") == "Deny":
            continue
        for action in data_actions:
            assert not action.endswith(":*"), (role, action)
        resources = as_list(statement.get("Resource", []))
        assert resources and "*" not in resources, (role, data_actions, resources)
        assert "NotResource" not in statement and "NotAction" not in statement, (role, statement)


def proxy_role(synth: Synthesis) -> Role | None:
    """The role the RDS Proxy reads its secrets with (AWS only)."""
    proxies = synth.resources("AWS::RDS::DBProxy")
    return (proxies[0].stack, proxies[0].props["RoleArn"]["Fn::GetAtt"][0]) if proxies else None


def test_no_role_can_read_another_services_secrets(synth: Synthesis):
    proxy = proxy_role(synth)
    for secret, roles in readers_of(synth).items():
        for stack, role in roles:
            if (stack, role) == proxy:
                assert secret in PROXY_READS, f"the proxy reads {secret}"
                continue
            assert synth.service_of(stack) in SECRET_READERS[secret], f"{stack}/{role} reads {secret}"


def test_only_users_roles_can_read_the_signing_key_and_only_its_manager_changes_either_key(synth: Synthesis):
    readers = readers_of(synth)
    assert readers[SIGNING_KEYS] and {synth.service_of(s) for s, _ in readers[SIGNING_KEYS]} == {"users"}
    public_readers = {synth.service_of(stack) for stack, _ in readers[PUBLIC_KEYS]}
    assert public_readers >= set(SERVICE_NAMES), "every service verifies tokens"
    writers = set()
    for role, statement in role_statements(synth):
        actions = as_list(statement.get("Action", []))
        if any(
            a.startswith("secretsmanager:")
            and not a.startswith(("secretsmanager:Get", "secretsmanager:Describe"))
            for a in actions
        ):
            targets = {secret_of(synth, role[0], r) for r in as_list(statement["Resource"])}
            if targets & {SIGNING_KEYS, PUBLIC_KEYS}:
                writers.add(role)
    manager = synth.function_name("users-signing-keys")
    assert writers == {role_of(synth, manager)}
    assert functions_by_role(synth)[role_of(synth, manager)] == [manager]
    assert synth.functions()[manager].props["Handler"] == "users.handlers.signing_keys.handler"


def test_each_service_puts_events_only_under_its_own_source(synth: Synthesis):
    publishers = set()
    for (stack, role), statement in role_statements(synth):
        actions = as_list(statement.get("Action", []))
        if not any(a in ("events:PutEvents", "events:*", "*") for a in actions):
            continue
        service = synth.service_of(stack)
        assert service in DOMAIN_SERVICES, f"{stack}/{role} may put events"
        assert statement.get("Condition") == {"StringEquals": {"events:source": f"agora.{service}"}}, role
        (bus,) = as_list(statement["Resource"])
        assert render(bus).endswith(f":event-bus/{BUS_NAME}"), "the agora bus, nothing else"
        publishers.add(service)
    assert publishers == set(DOMAIN_SERVICES)


def test_only_each_services_migrator_reads_the_master_secret(synth: Synthesis):
    readers = readers_of(synth)
    migrators = {role_of(synth, synth.function_name(f"{s}-migrate")) for s in POSTGRES}
    assert readers[MASTER] == migrators
    for migrator in migrators:
        assert len(functions_by_role(synth)[migrator]) == 1, migrator
    for service in POSTGRES:
        own = readers[f"database-secret-arn-{service}"] - {proxy_role(synth)}
        assert {synth.service_of(stack) for stack, _ in own} == {service}
        # The migrator (to create the role) and the service's functions (to connect as it).
        assert role_of(synth, synth.function_name(f"{service}-migrate")) in own
        assert role_of(synth, synth.function_name(f"{service}-health")) in own


def test_postgres_functions_connect_with_their_own_services_secret(synth: Synthesis):
    for name, fn in synth.functions().items():
        props = fn.props
        env = props.get("Environment", {}).get("Variables", {})
        service = synth.service_of(fn.stack)
        if service not in POSTGRES:
            assert "AGORA_DATABASE_SECRET_ARN" not in env and "AGORA_DATABASE_MASTER_SECRET_ARN" not in env
            continue
        assert (
            secret_of(synth, fn.stack, env["AGORA_DATABASE_SECRET_ARN"]) == f"database-secret-arn-{service}"
        )
        if props["Handler"] == "agora.migrate.handler":
            assert secret_of(synth, fn.stack, env["AGORA_DATABASE_MASTER_SECRET_ARN"]) == MASTER
            assert name == synth.function_name(f"{service}-migrate")
        else:
            assert "AGORA_DATABASE_MASTER_SECRET_ARN" not in env, name


def test_on_aws_each_service_secret_rotates_itself_and_names_its_role(synth: Synthesis):
    secrets = synth.resources("AWS::SecretsManager::Secret", names.PLATFORM)
    for service in POSTGRES:
        (secret,) = [s for s in secrets if s.id.startswith(f"Data{service.title()}DatabaseSecret")]
        generated = secret.props["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"])["username"] == f"agora_{service}"
        assert generated["GenerateStringKey"] == "password"
    schedules = synth.resources("AWS::SecretsManager::RotationSchedule")
    if synth.target == "localstack":
        assert not schedules
        return
    rotated = {s.props["SecretId"]["Ref"].split("DatabaseSecret")[0] for s in schedules}
    assert rotated == {f"Data{s.title()}" for s in POSTGRES}
    for schedule in schedules:
        assert schedule.stack == names.PLATFORM
        assert schedule.props["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"


def invokers(synth: Synthesis) -> dict[str, dict[str | None, set[Role]]]:
    """Per function name, per qualifier (None: the function itself), the roles that may invoke it."""
    found: dict[str, dict[str | None, set[Role]]] = defaultdict(lambda: defaultdict(set))
    for role, statement in role_statements(synth):
        if "lambda:InvokeFunction" not in as_list(statement.get("Action", [])):
            continue
        for resource in as_list(statement["Resource"]):
            invoked = invoked_function(render(resource))
            assert invoked is not None, (role, resource)
            found[invoked[0]][invoked[1]].add(role)
    return found


def test_internal_functions_are_invocable_by_their_declared_callers_only(synth: Synthesis, services):
    grants = invokers(synth)
    by_role = functions_by_role(synth)
    for service in services:
        for internal in service.internal:
            name = synth.function_name(internal.function_name_suffix)
            granted = grants.pop(name, {})
            roles = set().union(*granted.values()) if granted else set()
            callers = {synth.service_of(stack) for stack, _ in roles}
            assert callers == set(internal.callers), (name, callers)
            # Granted by its fixed name, to every function of each caller but its deploy steps.
            for caller in internal.callers:
                stack = names.service_stack(caller)
                expected = {
                    role
                    for role, fns in by_role.items()
                    if role[0] == stack and not any(f.endswith(("-migrate", "-signing-keys")) for f in fns)
                }
                assert {r for r in roles if r[0] == stack} == expected, (name, caller)
            if uses_snap_start(synth.config, internal):
                # The alias that serves the snapshot, never $LATEST or another version.
                assert set(granted) == {LIVE_ALIAS}, (name, set(granted))
            elif granted:
                assert set(granted) == {None, "*"}, (name, set(granted))
    assert not grants, f"invoke grants on functions no declaration calls: {set(grants)}"


def test_the_route_publisher_may_deploy_only_its_own_apis_stage_and_keep_only_its_routes(synth: Synthesis):
    publisher = role_of(synth, synth.function_name("platform-api-routes"))
    (api,) = synth.resources("AWS::ApiGateway::RestApi", names.PLATFORM)
    routes = f"parameter/agora/{synth.stage}/routes"
    granted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for role, statement in role_statements(synth):
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        resources = {render(r) for r in as_list(statement.get("Resource", []))}
        deploys = [a for a in actions if a.startswith("apigateway:")]
        writes = [a for a in actions if a.startswith("ssm:") and any(routes in r for r in resources)]
        if role != publisher:
            assert not deploys and not writes, f"{role} may change the API stage or its routes: {actions}"
            continue
        assert statement["Effect"] == "Allow" and "Condition" not in statement, statement
        for action in actions:
            granted[action] |= {arn_resource(r) for r in resources}
    api_arns = {
        ("apigateway", f"/restapis/${{Ref:{api.id}}}/deployments"),
        ("apigateway", f"/restapis/${{Ref:{api.id}}}/stages/{synth.stage}"),
    }
    routes_arns = {("ssm", routes), ("ssm", f"{routes}/*")}
    assert dict(granted) == {
        "apigateway:POST": api_arns,
        "apigateway:PATCH": api_arns,
        "ssm:PutParameter": routes_arns,
        "ssm:DeleteParameter": routes_arns,
        "ssm:GetParametersByPath": routes_arns,
    }
    (role,) = [r for r in synth.resources("AWS::IAM::Role") if (r.stack, r.id) == publisher]
    managed = {render(arn).rsplit(":policy/", 1)[1] for arn in role.props["ManagedPolicyArns"]}
    assert managed <= {"service-role/AWSLambdaBasicExecutionRole", "AWSXRayDaemonWriteAccess"}, managed
