"""The key manager on Secrets Manager (moto): the deploy's first key, a rotation, verification everywhere."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from moto import mock_aws

from agora import identity
from agora.errors import Unauthorized


def placeholder() -> str:
    """What the stack's GenerateSecretString leaves in both secrets."""
    return json.dumps({"keys": [], "placeholder": uuid.uuid4().hex})


@pytest.fixture
def secrets(monkeypatch):
    with mock_aws():
        client = boto3.client("secretsmanager")
        ring = client.create_secret(Name="agora-signing-keys", SecretString=placeholder())["ARN"]
        public = client.create_secret(Name="agora-public-keys", SecretString=placeholder())["ARN"]
        monkeypatch.setenv("AGORA_JWT_SIGNING_KEY_ARN", ring)
        monkeypatch.setenv("AGORA_JWT_PUBLIC_KEYS_ARN", public)
        # Every read reaches Secrets Manager: what a container whose cache just expired sees.
        monkeypatch.setenv("AGORA_SECRETS_MAX_AGE_S", "0")
        from agora import aws, settings
        from users import settings as users_settings

        caches = (settings.settings, users_settings.users_settings, identity.identity_settings)
        for cached in caches:
            cached.cache_clear()
        aws.clear_clients()
        yield client, ring, public
        for cached in caches:
            cached.cache_clear()
        aws.clear_clients()


def cloudformation(request_type: str) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation.example/response",
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/Agora/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "UsersFunctionsSigningKeys",
        "ResourceType": "Custom::AgoraSigningKeys",
        "ResourceProperties": {},
    }


def sign_now() -> str:
    from users.adapters.security import JwtSigner
    from users.settings import users_settings

    now = int(time.time())
    claims = {
        "sub": "u1",
        "email": "a@b.c",
        "role": "user",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 900,
    }
    return JwtSigner(users_settings().jwt_signing_key_arn).sign(claims)


def test_the_deploy_writes_a_first_key_and_every_service_verifies_with_its_public_half(secrets, monkeypatch):
    client, ring_arn, public_arn = secrets
    from users.handlers import signing_keys

    answers: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        signing_keys, "respond", lambda e, c, status, physical_id, data: answers.append((status, data))
    )
    signing_keys.handler(cloudformation("Create"), None)
    ((status, data),) = answers
    assert status == "SUCCESS"

    ring = json.loads(client.get_secret_value(SecretId=ring_arn)["SecretString"])
    public = json.loads(client.get_secret_value(SecretId=public_arn)["SecretString"])
    assert [k["kid"] for k in ring["keys"]] == [k["kid"] for k in public["keys"]] == [data["ActiveKid"]]
    assert "PRIVATE KEY" in ring["keys"][0]["privateKey"]
    assert "PRIVATE" not in json.dumps(public) and all("d" not in k for k in public["keys"])

    token = sign_now()
    assert identity.verify(token, identity.public_keys()).user_id == "u1"

    signing_keys.handler(cloudformation("Update"), None)
    assert json.loads(client.get_secret_value(SecretId=ring_arn)["SecretString"]) == ring, (
        "a deploy keeps the key"
    )


def test_a_failed_deploy_step_answers_failed_to_cloudformation(secrets, monkeypatch):
    client, ring_arn, _ = secrets
    from users.handlers import signing_keys

    client.put_secret_value(SecretId=ring_arn, SecretString='{"keys": [{"kid": "x"}]}')
    answers: list[str] = []
    monkeypatch.setattr(
        signing_keys, "respond", lambda e, c, status, physical_id, data: answers.append(status)
    )
    with pytest.raises(ValueError):
        signing_keys.handler(cloudformation("Create"), None)
    assert answers == ["FAILED"]
    assert json.loads(client.get_secret_value(SecretId=ring_arn)["SecretString"]) == {"keys": [{"kid": "x"}]}


def test_a_rotation_keeps_old_tokens_valid_until_the_previous_key_is_retired(secrets):
    from users.handlers import signing_keys

    first = signing_keys.run("ensure")["active"]
    old_token = sign_now()
    rotated = signing_keys.run("rotate")
    assert rotated["active"] == first, "the new key is published before it signs"
    assert len(identity.public_keys()) == 2
    assert identity.verify(old_token, identity.public_keys())
    assert identity.verify(sign_now(), identity.public_keys())
    # The new key does not sign yet, so nothing is superseded: retiring now changes nothing.
    assert len(signing_keys.run("retire")["keys"]) == 2
    assert len(identity.public_keys()) == 2

    # A leaked key: the new one signs at once and the old one's tokens stop.
    signing_keys.run("rotate", immediate=True)
    signing_keys.run("retire", force=True)
    keys = identity.public_keys()
    assert len(keys) == 1
    with pytest.raises(Unauthorized) as refused:
        identity.verify(old_token, keys)
    assert refused.value.code == "INVALID_TOKEN"
    assert identity.verify(sign_now(), keys).user_id == "u1"


def test_an_unknown_action_is_refused(secrets):
    from users.handlers import signing_keys

    with pytest.raises(ValueError):
        signing_keys.handler({"action": "delete-everything"}, None)
