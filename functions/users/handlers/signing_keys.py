"""The signing keys' lifecycle: a CloudFormation custom resource on deploy, an operator's tool otherwise.

    aws lambda invoke --function-name agora-<stage>-users-signing-keys \\
        --cli-binary-format raw-in-base64-out --payload '{"action": "rotate"}' out.json

Actions: ``ensure`` (the deploy's: a first key if there is none), ``rotate`` (``"immediate": true``
for a leaked key), ``retire`` (``"force": true`` to cut off tokens of a leaked key at once).
"""

from __future__ import annotations

import time
from typing import Any

from agora.cfn import respond
from agora.observability import logger
from users.adapters.key_store import SecretsKeyStore
from users.service import signing_keys
from users.settings import users_settings


def store() -> SecretsKeyStore:
    cfg = users_settings()
    if not (cfg.jwt_signing_key_arn and cfg.jwt_public_keys_arn):
        raise RuntimeError("AGORA_JWT_SIGNING_KEY_ARN and AGORA_JWT_PUBLIC_KEYS_ARN must both be set")
    return SecretsKeyStore(cfg.jwt_signing_key_arn, cfg.jwt_public_keys_arn)


def run(action: str, *, immediate: bool = False, force: bool = False) -> dict[str, Any]:
    timings = signing_keys.KeyTimings(cache_age_s=users_settings().secrets_max_age_s)
    now = int(time.time())
    if action == "ensure":
        ring = signing_keys.ensure(store(), now)
    elif action == "rotate":
        ring = signing_keys.rotate(store(), now, timings, immediate=immediate)
    elif action == "retire":
        ring = signing_keys.retire(store(), now, timings, force=force)
    else:
        raise ValueError(f"unknown action {action!r}: ensure, rotate or retire")
    answer = {
        "active": ring.active(now).kid,
        "keys": [{"kid": k.kid, "activeFrom": k.active_from} for k in ring.keys],
    }
    logger().info("signing keys", extra={"action": action, **answer})
    return answer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "RequestType" not in event:
        immediate, force = bool(event.get("immediate")), bool(event.get("force"))
        return run(str(event.get("action")), immediate=immediate, force=force)
    # CloudFormation waits for an answer whatever happens: FAILED unless the key is in place.
    status, data = "FAILED", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            data = {"ActiveKid": run("ensure")["active"]}
        status = "SUCCESS"  # Delete: the stack deletes the secrets themselves
    finally:
        physical_id = event.get("PhysicalResourceId") or f"signing-keys-{event['LogicalResourceId']}"
        respond(event, context, status, physical_id=physical_id, data=data)
    return {"Status": status, "Data": data}
