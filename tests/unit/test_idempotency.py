"""agora.idempotency: keyed ids, request digests and the refusal of a key reused with another request.

The ids and digests are stored: these values must never change, or stored rows stop replaying.
"""

import hashlib
import json
import uuid

import pytest

from agora.errors import UnprocessableEntity
from agora.idempotency import ANOTHER_REQUEST, IdempotencyKeyReused, digest, ensure_same_request, keyed_id

NAMESPACE = uuid.UUID("5d3c6a1e-8f7b-4c55-9a2e-0b6c1f0e4a77")


def test_a_keyed_id_is_the_uuid5_of_the_scope_and_the_key_one_per_line():
    assert keyed_id(NAMESPACE, "k-1", "user-1") == uuid.uuid5(NAMESPACE, "user-1\nk-1")
    payment = uuid.UUID("0b9a7c52-3c1e-4e55-b1f4-5d2d8e6c9a10")
    assert keyed_id(NAMESPACE, "k-1", "user-1", payment) == uuid.uuid5(NAMESPACE, f"user-1\n{payment}\nk-1")


def test_a_keyed_id_is_stable_and_differs_per_scope_and_key():
    assert keyed_id(NAMESPACE, "k", "u") == keyed_id(NAMESPACE, "k", "u")
    assert keyed_id(NAMESPACE, "k", "u") != keyed_id(NAMESPACE, "k", "v")
    assert keyed_id(NAMESPACE, "k", "u") != keyed_id(NAMESPACE, "l", "u")
    assert keyed_id(NAMESPACE, "k", "u") != keyed_id(uuid.uuid4(), "k", "u")


def test_a_known_keyed_id_keeps_its_value():
    # A stored order's id: changing how ids are derived would make its key create a second order.
    assert keyed_id(NAMESPACE, "checkout-1", "user-1") == uuid.UUID("642e01fc-345e-512f-a9d0-938183345b35")


@pytest.mark.parametrize("key", [None, ""])
def test_without_a_key_every_id_is_new(key):
    first, second = keyed_id(NAMESPACE, key, "u"), keyed_id(NAMESPACE, key, "u")
    assert first != second
    assert first.version == 4


def test_the_digest_is_sha256_of_canonical_json():
    body = {"b": [1, 2], "a": {"y": 1, "x": "2.50"}}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    assert digest(body) == expected
    assert len(digest(body)) == 64


def test_the_digest_ignores_key_order_but_not_values():
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({"a": 1, "b": 2}) != digest({"a": 1, "b": 3})


def test_a_known_digest_keeps_its_value():
    # Stored in orders.request_hash: a different digest of the same body would refuse a true retry.
    assert (
        digest({"user_id": "u", "items": [{"product_id": 1, "quantity": 2}]})
        == hashlib.sha256(b'{"items": [{"product_id": 1, "quantity": 2}], "user_id": "u"}').hexdigest()
    )


def test_values_json_cannot_hold_are_digested_as_text():
    assert digest({"id": uuid.UUID(int=1)}) == digest({"id": str(uuid.UUID(int=1))})


def test_the_same_request_passes():
    ensure_same_request("abc", "abc")
    ensure_same_request(5, 5)


def test_another_request_under_the_key_is_refused_422():
    with pytest.raises(IdempotencyKeyReused) as refused:
        ensure_same_request("abc", "abd")
    error = refused.value
    assert isinstance(error, UnprocessableEntity)
    assert (error.status, error.code, error.detail) == (422, "IDEMPOTENCY_KEY_REUSED", ANOTHER_REQUEST)


def test_the_refusal_may_say_what_differed():
    with pytest.raises(IdempotencyKeyReused, match="another stock change"):
        ensure_same_request(5, 4, "this Idempotency-Key was used for another stock change of this product")
