from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from agora.errors import Forbidden, InvalidInput, UnprocessableEntity
from payments.domain.payments import (
    TRANSITIONS,
    InvalidPaymentState,
    Status,
    check_amount,
    check_refund_allowed,
    check_transition,
    refund_amount,
)
from payments.domain.provider import ACTION_CARD, DECLINED_CARD, SimulatedProvider
from payments.domain.signatures import InvalidSignature, sign, verify

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in Status for b in Status if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_transition(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_refused_transition(current, target):
    with pytest.raises(InvalidPaymentState):
        check_transition(current, target)


def test_the_amount_must_be_the_order_total_to_the_cent():
    check_amount(Decimal("117.98"), Decimal("117.98"))
    with pytest.raises(InvalidInput) as exc:
        check_amount(Decimal("117.97"), Decimal("117.98"))
    assert exc.value.code == "AMOUNT_MISMATCH"


def test_partial_refunds_add_up_to_the_amount_at_most():
    assert refund_amount(Decimal("100.00"), Decimal("0"), None) == Decimal("100.00")
    assert refund_amount(Decimal("100.00"), Decimal("60.00"), Decimal("40.00")) == Decimal("40.00")
    with pytest.raises(UnprocessableEntity) as exc:
        refund_amount(Decimal("100.00"), Decimal("60.00"), Decimal("40.01"))
    assert exc.value.code == "REFUND_EXCEEDS_PAYMENT"
    with pytest.raises(UnprocessableEntity):
        refund_amount(Decimal("100.00"), Decimal("100.00"), None)


def test_owners_refund_within_the_window_admins_any_time():
    now = datetime(2026, 11, 24, tzinfo=UTC)
    window = timedelta(days=30)
    check_refund_allowed(by_admin=False, processed_at=now - timedelta(days=29), now=now, window=window)
    check_refund_allowed(by_admin=True, processed_at=now - timedelta(days=400), now=now, window=window)
    with pytest.raises(Forbidden):
        check_refund_allowed(by_admin=False, processed_at=now - timedelta(days=31), now=now, window=window)


def test_the_simulated_provider_is_deterministic_by_test_card():
    provider = SimulatedProvider()
    assert provider.create_intent(Decimal(1), "USD", "card", {"card_number": DECLINED_CARD}).declined_reason
    assert provider.create_intent(Decimal(1), "USD", "card", {"card_number": ACTION_CARD}).requires_action
    ok = provider.create_intent(Decimal(1), "USD", "card", {})
    assert (ok.declined_reason, ok.requires_action) == (None, False)
    assert ok.transaction_id.startswith("pi_")


SECRET = "whsec_test_" + "s" * 32
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def header(timestamp: int, body: bytes = BODY, secret: str = SECRET) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def test_a_valid_signature_passes():
    verify(header(1_800_000_000), BODY, SECRET, now=1_800_000_010)


@pytest.mark.parametrize(
    ("sig", "body", "now"),
    [
        (None, BODY, 1_800_000_000),  # missing
        ("t=abc,v1=00", BODY, 1_800_000_000),  # no timestamp
        (header(1_800_000_000), BODY + b" ", 1_800_000_000),  # tampered body
        (header(1_800_000_000, secret="other"), BODY, 1_800_000_000),  # wrong secret
        (header(1_800_000_000), BODY, 1_800_000_301),  # stale (replayed after the tolerance)
        (header(1_800_000_400), BODY, 1_800_000_000),  # from the future
        ("t=1800000000,v0=" + sign(SECRET, 1_800_000_000, BODY), BODY, 1_800_000_000),  # wrong scheme
    ],
)
def test_invalid_signatures_are_refused(sig, body, now):
    with pytest.raises(InvalidSignature):
        verify(sig, body, SECRET, now=now)
