"""Access-token verification: ES256 only, a kid from the published key set, the claims we agreed on."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from agora import identity
from agora.errors import Unauthorized
from agora.identity import MisconfiguredAuth, verify
from agora.keys import KeyRingError, KeySet, SigningRing, parse_key_set

RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())
OLD_HS256_SECRET = "the-old-hmac-signing-key-" + "k" * 40


def claims(**changes):
    now = int(time.time())
    base = {
        "sub": "u1",
        "email": "a@b.c",
        "role": "user",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 900,
    }
    return base | changes


def b64(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def private_key(key):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(key.private_pem.encode(), password=None)


def code_of(token: str, keys: KeySet = KEYS) -> str:
    with pytest.raises(Unauthorized) as refused:
        verify(token, keys)
    return refused.value.code


def test_a_token_signed_by_the_active_key_verifies_with_the_public_set():
    token = RING.keys[0].sign(claims(sid="s1"))
    assert jwt.get_unverified_header(token)["kid"] == RING.keys[0].kid
    principal = verify(token, KEYS)
    assert (principal.user_id, principal.role, principal.session_id) == ("u1", "user", "s1")


def hs256(secret: bytes, header: dict, payload: dict) -> str:
    """Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    import hashlib
    import hmac

    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_hs256_tokens_are_refused_whether_signed_with_the_old_secret_or_the_public_key():
    from cryptography.hazmat.primitives import serialization

    kid = RING.keys[0].kid
    old = jwt.encode(claims(role="admin"), OLD_HS256_SECRET, algorithm="HS256")
    assert code_of(old) == "INVALID_TOKEN"
    assert code_of(jwt.encode(claims(), OLD_HS256_SECRET, algorithm="HS256", headers={"kid": kid})) == (
        "INVALID_TOKEN"
    )
    public_pem = KEYS.key(kid).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, json.dumps(KEYS.jwks()["keys"][0]).encode()):
        confused = hs256(secret, {"alg": "HS256", "typ": "JWT", "kid": kid}, claims(role="admin"))
        assert code_of(confused) == "INVALID_TOKEN"


def test_alg_none_is_refused():
    header = {"alg": "none", "typ": "JWT", "kid": RING.keys[0].kid}
    assert code_of(f"{b64(header)}.{b64(claims(role='admin'))}.") == "INVALID_TOKEN"


def test_a_token_without_a_kid_or_with_an_unknown_kid_is_refused():
    key = RING.keys[0]
    without_kid = jwt.encode(claims(), private_key(key), algorithm="ES256")
    assert code_of(without_kid) == "INVALID_TOKEN"
    stranger = SigningRing().with_new_key(active_from=0).keys[0]
    assert code_of(stranger.sign(claims())) == "INVALID_TOKEN"
    # Another key's signature under a kid we trust does not verify either.
    spoofed = jwt.encode(claims(), private_key(stranger), algorithm="ES256", headers={"kid": key.kid})
    assert code_of(spoofed) == "INVALID_TOKEN"


def test_expired_tokens_missing_claims_and_unknown_roles_are_refused():
    key = RING.keys[0]
    assert (
        code_of(key.sign(claims(iat=int(time.time()) - 1000, exp=int(time.time()) - 60))) == "TOKEN_EXPIRED"
    )
    incomplete = claims()
    del incomplete["jti"]
    assert code_of(key.sign(incomplete)) == "INVALID_TOKEN"
    assert code_of(key.sign(claims(role="root"))) == "INVALID_TOKEN"
    assert code_of("not.a.token") == "INVALID_TOKEN"


@pytest.mark.parametrize(
    "bad_key",
    [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"},
        {**RING.public_set()["keys"][0], "alg": "HS256"},
        {k: v for k, v in RING.public_set()["keys"][0].items() if k != "kid"},
    ],
)
def test_a_public_key_set_holding_anything_but_es256_keys_is_refused(bad_key):
    with pytest.raises(KeyRingError):
        KeySet.from_jwks({"keys": [*RING.public_set()["keys"], bad_key]})


def test_a_public_key_set_never_carries_private_material():
    from jwt.algorithms import ECAlgorithm

    private = ECAlgorithm.to_jwk(private_key(RING.keys[0]), as_dict=True)
    with pytest.raises(KeyRingError):
        KeySet.from_jwks({"keys": [{**private, "kid": RING.keys[0].kid, "alg": "ES256"}]})
    assert all("d" not in k for k in RING.public_set()["keys"])


def test_the_kid_is_the_keys_rfc7638_thumbprint():
    from agora.keys import thumbprint

    (public,) = RING.public_set()["keys"]
    assert public["kid"] == thumbprint(public) == RING.keys[0].kid


def test_without_a_configured_or_published_key_set_protected_requests_are_unavailable(monkeypatch):
    identity.identity_settings.cache_clear()
    monkeypatch.delenv("AGORA_JWT_PUBLIC_KEYS_ARN", raising=False)
    try:
        with pytest.raises(MisconfiguredAuth):
            identity.public_keys()
        monkeypatch.setenv("AGORA_JWT_PUBLIC_KEYS_ARN", "arn:aws:secretsmanager:us-east-1:0:secret:k")
        identity.identity_settings.cache_clear()
        monkeypatch.setattr("agora.secrets.secret_string", lambda arn: '{"keys": [], "placeholder": "x"}')
        with pytest.raises(MisconfiguredAuth) as empty:
            identity.public_keys()
        assert empty.value.code == "AUTH_UNAVAILABLE"
        monkeypatch.setattr("agora.secrets.secret_string", lambda arn: json.dumps(RING.public_set()))
        assert RING.keys[0].kid in identity.public_keys().keys
    finally:
        identity.identity_settings.cache_clear()


def test_the_parsed_key_set_is_kept_per_document():
    text = json.dumps(RING.public_set())
    assert parse_key_set(text) is parse_key_set(text)
