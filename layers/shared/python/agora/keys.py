"""ES256 keys of access tokens: the users service's signing ring, the key set every service verifies with.

The signing ring is a Secrets Manager secret that only the users service may read::

    {"keys": [{"kid": "<RFC 7638 thumbprint>", "privateKey": "-----BEGIN PRIVATE KEY-----…",
               "activeFrom": 1767225600}]}

Tokens are signed with the newest key whose ``activeFrom`` has passed.  A rotation adds a key whose
``activeFrom`` lies beyond every verifier's cache age and publishes its public half at once, so no
service meets a ``kid`` it has not loaded yet; retiring drops the keys the active one superseded, once
no token they signed can still be alive.  The public key set is a JWKS document in another secret,
readable by every service: the public half of each key of the ring, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

ALGORITHM = "ES256"
CURVE = "P-256"
_JWK_FIELDS = ("kty", "crv", "x", "y")


class KeyRingError(ValueError):
    """A key document that cannot be trusted as it is: never silently replaced."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the key's required members, so a kid names exactly one key."""
    canonical = json.dumps({k: jwk[k] for k in sorted(_JWK_FIELDS)}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@lru_cache(maxsize=8)
def _private_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise KeyRingError("a signing key is not an EC P-256 private key")
    return key


def _public_jwk(public_key: Any) -> dict[str, str]:
    from jwt.algorithms import ECAlgorithm

    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    assert isinstance(jwk, dict)
    public = {k: str(jwk[k]) for k in _JWK_FIELDS}
    return {**public, "kid": thumbprint(public), "alg": ALGORITHM, "use": "sig"}


@dataclass(frozen=True)
class RingKey:
    kid: str
    private_pem: str
    active_from: int

    @classmethod
    def generate(cls, active_from: int) -> RingKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(kid=_public_jwk(key.public_key())["kid"], private_pem=pem, active_from=active_from)

    def public_jwk(self) -> dict[str, str]:
        return _public_jwk(_private_key(self.private_pem).public_key())

    def sign(self, claims: Mapping[str, Any]) -> str:
        import jwt

        return jwt.encode(
            dict(claims), _private_key(self.private_pem), algorithm=ALGORITHM, headers={"kid": self.kid}
        )


@dataclass(frozen=True)
class SigningRing:
    keys: tuple[RingKey, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SigningRing:
        """The ring a secret holds; the stack's placeholder (``{"keys": []}`` and noise) is an empty ring."""
        try:
            document = json.loads(text)
            entries = document["keys"]
            keys = tuple(
                RingKey(kid=str(e["kid"]), private_pem=str(e["privateKey"]), active_from=int(e["activeFrom"]))
                for e in entries
            )
            mismatched = [k.kid for k in keys if k.public_jwk()["kid"] != k.kid]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"the signing key secret is not a key ring: {type(exc).__name__}") from None
        if mismatched:
            raise KeyRingError(f"keys {', '.join(mismatched)} do not match their kid")
        return cls(tuple(sorted(keys, key=lambda k: k.active_from)))

    def dumps(self) -> str:
        return json.dumps(
            {
                "keys": [
                    {"kid": k.kid, "privateKey": k.private_pem, "activeFrom": k.active_from}
                    for k in self.keys
                ]
            }
        )

    def active(self, now: float) -> RingKey:
        """The key that signs now: the newest one whose time has come (of two, the one added last)."""
        current = [k for k in self.keys if k.active_from <= now]
        if not current:
            raise LookupError("no signing key is active yet")
        return current[-1]

    def public_set(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document every service verifies with: the public half of every key of the ring."""
        return {"keys": [k.public_jwk() for k in self.keys]}

    def with_new_key(self, active_from: int) -> SigningRing:
        return replace(self, keys=(*self.keys, RingKey.generate(active_from)))

    def pending(self, now: float) -> tuple[RingKey, ...]:
        """Keys published ahead of their time: they sign nothing yet."""
        return tuple(k for k in self.keys if k.active_from > now)

    def superseded(self, now: float) -> tuple[RingKey, ...]:
        """Keys older than the active one: they sign nothing any more."""
        active = self.active(now)
        return tuple(k for k in self.keys if k.active_from <= active.active_from and k.kid != active.kid)

    def without(self, retired: tuple[RingKey, ...]) -> SigningRing:
        gone = {k.kid for k in retired}
        return replace(self, keys=tuple(k for k in self.keys if k.kid not in gone))


@dataclass(frozen=True)
class KeySet:
    """Public keys by kid, as a verifier holds them: EC P-256 keys for ES256 and nothing else."""

    keys: Mapping[str, Any]
    document: Mapping[str, Any]

    @classmethod
    def from_jwks(cls, document: Mapping[str, Any]) -> KeySet:
        from jwt.algorithms import ECAlgorithm

        entries = document.get("keys")
        if not isinstance(entries, list):
            raise KeyRingError("the public key set has no keys list")
        keys: dict[str, Any] = {}
        for jwk in entries:
            if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != CURVE:
                raise KeyRingError("the public key set holds a key that is not EC P-256")
            if jwk.get("alg", ALGORITHM) != ALGORITHM or not jwk.get("kid"):
                raise KeyRingError("every public key must be for ES256 and carry a kid")
            if any(name in jwk for name in ("d", "p", "q")):
                raise KeyRingError("the public key set holds private key material")
            keys[str(jwk["kid"])] = ECAlgorithm.from_jwk(jwk)
        return cls(keys=keys, document={"keys": [dict(k) for k in entries]})

    def key(self, kid: str) -> Any | None:
        return self.keys.get(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(k) for k in self.document["keys"]]}

    def __len__(self) -> int:
        return len(self.keys)


@lru_cache(maxsize=4)
def parse_key_set(text: str) -> KeySet:
    """Parsed once per document: the secret's text is cached by Powertools, the keys by this."""
    try:
        document = json.loads(text)
    except ValueError:
        raise KeyRingError("the public key set is not JSON") from None
    if not isinstance(document, dict):
        raise KeyRingError("the public key set is not a JSON object")
    return KeySet.from_jwks(document)


@lru_cache(maxsize=4)
def parse_ring(text: str) -> SigningRing:
    return SigningRing.parse(text)
