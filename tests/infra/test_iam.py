"""Least privilege in the synthesized templates: no wildcard on data, secrets and events kept by owners."""

from __future__ import annotations

import json
from typing import Any

from agora.operations import DOMAIN_SERVICES, SERVICE_NAMES

# Services that hold data or carry messages: every grant on them names its resources and its actions.
DATA_SERVICES = ("dynamodb", "rds", "rds-data", "secretsmanager", "ssm", "events", "sqs")
POSTGRES = {"products", "orders", "payments"}
# Each secret of the stack (by logical id prefix) and the services that may read it.
SECRET_READERS = {
    "DataJwtSigningKeys": {"users"},
    "DataJwtPublicKeys": set(SERVICE_NAMES),
    "DataWebhookSigningSecret": {"payments"},
    "DataRequestHashKey": {"payments"},
    "DataDatabaseSecret": POSTGRES,  # LocalStack: the dev server's master
    "DataPostgresSecret": POSTGRES,  # AWS: the Aurora cluster's master
    # Each service's own role (the migrators read it too, to create the role).
    **{f"Data{s.title()}DatabaseSecret": {s} for s in POSTGRES},
}
MASTERS = ("DataDatabaseSecret", "DataPostgresSecret")
READ_SECRET = ("secretsmanager:GetSecretValue", "secretsmanager:*", "*")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template) -> list[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every identity policy the template attaches to a role."""
    found = []
    resources = template.to_json()["Resources"]
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in props.get("Roles", []):
                for statement in as_list(props["PolicyDocument"]["Statement"]):
                    found.append((role["Ref"], statement))
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in as_list(policy["PolicyDocument"]["Statement"]):
                    found.append((logical_id, statement))
    assert found, "the stack grants something"
    return found


def service_of(role_id: str) -> str | None:
    return next((s for s in SERVICE_NAMES if role_id.startswith(f"{s.title()}Functions")), None)


def is_data_action(action: str) -> bool:
    prefix = action.split(":", 1)[0].lower()
    return action == "*" or prefix in DATA_SERVICES or action.lower().startswith("lambda:invoke")


def secret_of(resource: Any) -> str:
    ref = resource.get("Ref", "") if isinstance(resource, dict) else str(resource)
    matches = [prefix for prefix in SECRET_READERS if ref.startswith(prefix)]
    assert len(matches) == 1, f"a secret no test knows the owner of: {resource}"
    return matches[0]


def test_no_wildcard_action_or_resource_on_a_data_service(target):
    _, _, template = target
    for role, statement in role_statements(template):
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


def readers_of(template) -> dict[str, set[str]]:
    """Per secret, the roles that may read its value."""
    readers: dict[str, set[str]] = {prefix: set() for prefix in SECRET_READERS}
    for role, statement in role_statements(template):
        actions = as_list(statement.get("Action", []))
        if statement.get("Effect") != "Allow" or not any(a in READ_SECRET for a in actions):
            continue
        for resource in as_list(statement["Resource"]):
            readers[secret_of(resource)].add(role)
    return readers


def test_no_role_can_read_another_services_secrets(target):
    _, _, template = target
    for secret, roles in readers_of(template).items():
        for role in roles:
            assert service_of(role) in SECRET_READERS[secret], f"{role} reads {secret}"


def test_only_users_roles_can_read_the_signing_key_and_only_its_manager_changes_either_key(target):
    _, _, template = target
    readers = readers_of(template)["DataJwtSigningKeys"]
    assert readers and all(service_of(role) == "users" for role in readers), readers
    public_readers = {service_of(role) for role in readers_of(template)["DataJwtPublicKeys"]}
    assert public_readers >= set(SERVICE_NAMES), "every service verifies tokens"
    writers = set()
    for role, statement in role_statements(template):
        actions = as_list(statement.get("Action", []))
        if any(
            a.startswith("secretsmanager:")
            and not a.startswith(("secretsmanager:Get", "secretsmanager:Describe"))
            for a in actions
        ):
            targets = {secret_of(r) for r in as_list(statement["Resource"])}
            if targets & {"DataJwtSigningKeys", "DataJwtPublicKeys"}:
                writers.add(role)
    (manager,) = writers
    assert manager.startswith("UsersFunctionsSigningKeysRole"), manager
    functions = template.find_resources("AWS::Lambda::Function")
    run_by_manager = [
        f["Properties"]["Handler"]
        for f in functions.values()
        if f["Properties"]["Role"]["Fn::GetAtt"][0] == manager
    ]
    assert run_by_manager == ["users.handlers.signing_keys.handler"]


def test_each_service_puts_events_only_under_its_own_source(target):
    _, _, template = target
    publishers = set()
    for role, statement in role_statements(template):
        actions = as_list(statement.get("Action", []))
        if not any(a in ("events:PutEvents", "events:*", "*") for a in actions):
            continue
        service = service_of(role)
        assert service in DOMAIN_SERVICES, f"{role} may put events"
        assert statement.get("Condition") == {"StringEquals": {"events:source": f"agora.{service}"}}, role
        assert json.dumps(statement["Resource"]).count("EventsBus") == 1, "the agora bus, nothing else"
        publishers.add(service)
    assert publishers == set(DOMAIN_SERVICES)


def test_only_each_services_migrator_reads_the_master_secret(target):
    _, _, template = target
    readers = readers_of(template)
    masters = set().union(*(readers[m] for m in MASTERS))
    assert {service_of(role) for role in masters} == POSTGRES
    for role in masters:
        assert role.startswith(f"{service_of(role).title()}FunctionsMigrateRole"), role
    for service in POSTGRES:
        own = readers[f"Data{service.title()}DatabaseSecret"]
        assert {service_of(r) for r in own} == {service}
        assert any(r.startswith(f"{service.title()}FunctionsRole") for r in own), "the service reads its own"


def test_postgres_functions_connect_with_their_own_services_secret(target):
    _, _, template = target
    for fn in template.find_resources("AWS::Lambda::Function").values():
        props = fn["Properties"]
        env = props.get("Environment", {}).get("Variables", {})
        service = env.get("AGORA_SERVICE")
        if service not in POSTGRES:
            assert "AGORA_DATABASE_SECRET_ARN" not in env and "AGORA_DATABASE_MASTER_SECRET_ARN" not in env
            continue
        assert secret_of(env["AGORA_DATABASE_SECRET_ARN"]) == f"Data{service.title()}DatabaseSecret"
        role = props["Role"]["Fn::GetAtt"][0]
        if props["Handler"] == "agora.migrate.handler":
            assert secret_of(env["AGORA_DATABASE_MASTER_SECRET_ARN"]) in MASTERS
            assert role.startswith(f"{service.title()}FunctionsMigrateRole"), role
        else:
            assert "AGORA_DATABASE_MASTER_SECRET_ARN" not in env, props["Handler"]
            assert not role.startswith(f"{service.title()}FunctionsMigrateRole"), props["Handler"]


def test_on_aws_each_service_secret_rotates_itself_and_names_its_role(target):
    name, _, template = target
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    for service in POSTGRES:
        (secret,) = [v for k, v in secrets.items() if k.startswith(f"Data{service.title()}DatabaseSecret")]
        fields = json.loads(secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
        assert fields["username"] == f"agora_{service}"
        assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "password"
    schedules = template.find_resources("AWS::SecretsManager::RotationSchedule")
    if name == "localstack":
        assert not schedules
        return
    rotated = {secret_of(s["Properties"]["SecretId"]) for s in schedules.values()}
    assert rotated == {f"Data{s.title()}DatabaseSecret" for s in POSTGRES}
    for schedule in schedules.values():
        assert schedule["Properties"]["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"
