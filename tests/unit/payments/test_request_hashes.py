"""Idempotency-Key body hashes: keyed HMACs of the masked body, refused when no key is configured."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agora.errors import DependencyUnavailable
from payments.service import hashing, lifecycle
from payments.settings import PaymentsSettings
from tests.unit.payments.fakes import pay_request, who, world


def test_the_hash_is_keyed_and_sees_cards_only_masked():
    ctx = world().ctx
    body = {"card": {"number": "4242 4242 4242 4242"}, "metadata": {"n": 1}}
    same_last_four = {"card": {"number": "4000 0000 0002 4242"}, "metadata": {"n": 1}}
    assert hashing.request_hash(ctx, body) == hashing.request_hash(ctx, same_last_four)
    assert hashing.request_hash(ctx, body) != hashing.request_hash(ctx, body | {"metadata": {"n": 2}})
    other_key = replace(ctx, request_hash_key=lambda: b"another key")
    assert hashing.request_hash(ctx, body) != hashing.request_hash(other_key, body)
    assert b"4242424242424242" not in hashing.canonical(body)


def test_without_a_configured_key_keyed_requests_are_refused_and_others_go_on():
    w = world()
    w.ctx = replace(w.ctx, request_hash_key=hashing.unconfigured_key)
    with pytest.raises(DependencyUnavailable) as refused:
        lifecycle.create_payment(w.ctx, who(), pay_request(w.orders.add()), "k")
    assert "AGORA_REQUEST_HASH_KEY_ARN" in refused.value.detail
    assert lifecycle.create_payment(w.ctx, who(), pay_request(w.orders.add()), None)["payment"]["id"]


def test_the_new_settings_and_their_defaults():
    defaults = PaymentsSettings.from_env({"AGORA_SERVICE": "payments"})
    assert (
        defaults.request_hash_key_arn,
        defaults.payment_attempts_per_minute,
        defaults.refunds_per_hour,
    ) == (
        None,
        10,
        20,
    )
    set_ = PaymentsSettings.from_env(
        {
            "AGORA_SERVICE": "payments",
            "AGORA_REQUEST_HASH_KEY_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:hash",
            "AGORA_PAYMENT_ATTEMPTS_PER_MINUTE": "4",
            "AGORA_REFUNDS_PER_HOUR": "7",
        }
    )
    assert (set_.payment_attempts_per_minute, set_.refunds_per_hour) == (4, 7)
