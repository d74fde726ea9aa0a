"""The signing ring and the public key set in Secrets Manager (both secrets are made by the stack)."""

from __future__ import annotations

import json
from typing import Any

from agora.keys import SigningRing


class SecretsKeyStore:
    def __init__(self, ring_arn: str, public_arn: str, client: Any = None) -> None:
        self.ring_arn = ring_arn
        self.public_arn = public_arn
        self._client = client

    def _secrets(self) -> Any:
        if self._client is None:
            from agora.aws import client

            self._client = client("secretsmanager")
        return self._client

    def load(self) -> SigningRing:
        # Never the cached copy: a rotation must build on the ring as it is now.
        return SigningRing.parse(self._secrets().get_secret_value(SecretId=self.ring_arn)["SecretString"])

    def save(self, ring: SigningRing) -> None:
        self._secrets().put_secret_value(SecretId=self.ring_arn, SecretString=ring.dumps())

    def publish(self, public_set: dict[str, Any]) -> None:
        self._secrets().put_secret_value(SecretId=self.public_arn, SecretString=json.dumps(public_set))
