"""The payment's rules with no I/O: transitions, the provider's word, refund arithmetic, who may refund."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from agora.errors import InvalidInput, UnprocessableEntity
from payments.domain.payments import (
    TRANSITIONS,
    InvalidPaymentState,
    Payment,
    ProviderMismatch,
    Refund,
    RefundNotAllowed,
    RefundOrigin,
    RefundState,
    Status,
    check_amount,
    check_currency,
    check_refund_allowed,
    check_transition,
    refund_amount,
    refund_on_completion,
)
from payments.domain.provider import IntentStatus, ProviderIntent
from payments.domain.signatures import InvalidSignature, sign, verify
from tests.unit.payments.fakes import a_payment

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in Status for b in Status if b not in TRANSITIONS[a]]


def payment(status=Status.PENDING, amount="100.00", **changes) -> Payment:
    return a_payment(status, amount, at=NOW, **changes)


def intent(status: IntentStatus, amount="100.00", currency="USD", declined=None) -> ProviderIntent:
    return ProviderIntent("pi_1", status, Decimal(amount), currency, "pi_1_secret", declined)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_transition(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_refused_transition(current, target):
    with pytest.raises(InvalidPaymentState):
        check_transition(current, target)


def test_only_the_provider_takes_a_payment_to_completed_and_failed_is_not_final():
    assert Status.COMPLETED in TRANSITIONS[Status.FAILED], "money taken after a decline is never refused"
    assert TRANSITIONS[Status.REFUNDED] == frozenset()
    assert Status.PENDING not in TRANSITIONS[Status.COMPLETED]


@pytest.mark.parametrize(
    ("before", "said", "after"),
    [
        (Status.CREATING, intent(IntentStatus.REQUIRES_CONFIRMATION), Status.PENDING),
        (Status.CREATING, intent(IntentStatus.REQUIRES_ACTION), Status.PENDING),
        (
            Status.CREATING,
            intent(IntentStatus.REQUIRES_PAYMENT_METHOD, declined="card_declined"),
            Status.FAILED,
        ),
        (Status.PENDING, intent(IntentStatus.SUCCEEDED), Status.COMPLETED),
        (Status.PENDING, intent(IntentStatus.PROCESSING), Status.PROCESSING),
        (Status.PROCESSING, intent(IntentStatus.SUCCEEDED), Status.COMPLETED),
        (Status.PENDING, intent(IntentStatus.CANCELED), Status.CANCELLED),
        (Status.FAILED, intent(IntentStatus.SUCCEEDED), Status.COMPLETED),
        (Status.CANCELLED, intent(IntentStatus.SUCCEEDED), Status.COMPLETED),
        # News that would undo money taken, or that moves along no transition, changes nothing.
        (Status.COMPLETED, intent(IntentStatus.CANCELED), Status.COMPLETED),
        (Status.COMPLETED, intent(IntentStatus.REQUIRES_PAYMENT_METHOD, declined="x"), Status.COMPLETED),
        (Status.REFUNDED, intent(IntentStatus.SUCCEEDED), Status.REFUNDED),
        (Status.FAILED, intent(IntentStatus.REQUIRES_CONFIRMATION), Status.FAILED),
        (Status.PROCESSING, intent(IntentStatus.REQUIRES_CONFIRMATION), Status.PROCESSING),
    ],
)
def test_the_payment_follows_the_providers_word(before, said, after):
    followed = payment(before).following(said, NOW + timedelta(seconds=1))
    assert followed.status is after
    if after is before:
        return
    assert followed.version == payment(before).version + 1
    if after is Status.COMPLETED:
        assert (followed.processed_at, followed.failure_reason) == (NOW + timedelta(seconds=1), None)


def test_the_intent_id_is_learned_once_and_a_decline_says_why():
    creating = payment(Status.CREATING)
    failed = creating.following(intent(IntentStatus.REQUIRES_PAYMENT_METHOD, declined="card_declined"), NOW)
    assert (failed.intent_id, failed.failure_reason) == ("pi_1", "card_declined")


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [("99.99", "USD", "AMOUNT_MISMATCH"), ("100.00", "EUR", "CURRENCY_MISMATCH")],
)
def test_the_provider_must_speak_of_the_payments_own_amount_and_currency(amount, currency, code):
    with pytest.raises(ProviderMismatch) as refused:
        payment().following(intent(IntentStatus.SUCCEEDED, amount, currency), NOW)
    assert (refused.value.code, refused.value.status) == (code, 400)
    assert (
        payment().following(intent(IntentStatus.SUCCEEDED, "100.00", "usd"), NOW).status is Status.COMPLETED
    )


def test_the_amount_and_currency_must_be_the_orders():
    check_amount(Decimal("117.98"), Decimal("117.98"))
    with pytest.raises(InvalidInput) as amount:
        check_amount(Decimal("117.97"), Decimal("117.98"))
    assert amount.value.code == "AMOUNT_MISMATCH"
    check_currency("usd", "USD")
    with pytest.raises(InvalidInput) as currency:
        check_currency("EUR", "USD")
    assert currency.value.code == "CURRENCY_MISMATCH"


def test_partial_refunds_add_up_to_the_amount_at_most():
    assert refund_amount(Decimal("100.00"), None) == Decimal("100.00")
    assert refund_amount(Decimal("40.00"), Decimal("40.00")) == Decimal("40.00")
    with pytest.raises(UnprocessableEntity) as exc:
        refund_amount(Decimal("40.00"), Decimal("40.01"))
    assert exc.value.code == "REFUND_EXCEEDS_PAYMENT"
    with pytest.raises(UnprocessableEntity) as nothing:
        refund_amount(Decimal("0.00"), None)
    assert nothing.value.code == "INVALID_REFUND"


def test_a_reserved_refund_counts_until_it_is_settled_or_released():
    paid = payment(Status.COMPLETED)
    reserved, value = paid.refund_reserved(Decimal("30.00"), NOW)
    assert (value, reserved.refund_pending, reserved.left_to_refund) == (Decimal("30.00"), 30, 70)
    with pytest.raises(UnprocessableEntity):
        reserved.refund_reserved(Decimal("70.01"), NOW)
    settled = reserved.refund_settled(value, NOW)
    assert (settled.refunded_amount, settled.refund_pending, settled.status) == (30, 0, Status.COMPLETED)
    released = reserved.refund_released(value, NOW)
    assert (released.refunded_amount, released.left_to_refund) == (0, 100)
    rest, _ = settled.refund_reserved(None, NOW)
    full = rest.refund_settled(Decimal("70.00"), NOW)
    assert (full.status, full.refunded_amount, full.refunded_at) == (Status.REFUNDED, 100, NOW)
    assert full.version > settled.version > reserved.version > paid.version
    with pytest.raises(InvalidPaymentState):
        payment(Status.PENDING).refund_reserved(None, NOW)


def test_a_refund_made_at_the_provider_is_recorded_never_beyond_the_amount():
    paid = payment(Status.COMPLETED).refunded_at_provider(Decimal("100.00"), NOW)
    assert paid.status is Status.REFUNDED
    with pytest.raises(UnprocessableEntity):
        paid.refunded_at_provider(Decimal("0.01"), NOW)
    with pytest.raises(InvalidPaymentState):
        payment(Status.PENDING).refunded_at_provider(Decimal("1.00"), NOW)


def test_a_refund_settles_once():
    refund = Refund(
        uuid.uuid4(), uuid.uuid4(), Decimal(1), RefundState.REQUESTED, RefundOrigin.REQUEST, None, NOW, NOW
    )
    done = refund.succeeded("re_1", NOW, {"id": "p"})
    assert (done.state, done.provider_refund_id, done.response) == (
        RefundState.SUCCEEDED,
        "re_1",
        {"id": "p"},
    )
    with pytest.raises(InvalidPaymentState):
        done.failed("late", NOW)


WINDOW = timedelta(days=30)


@pytest.mark.parametrize("order_status", ["pending", "confirmed", "processing", "cancelled"])
def test_owners_refund_before_shipment_within_the_window(order_status):
    check_refund_allowed(
        by_admin=False,
        processed_at=NOW - timedelta(days=29),
        now=NOW,
        window=WINDOW,
        order_status=order_status,
    )


@pytest.mark.parametrize(
    ("order_status", "days"), [("shipped", 1), ("delivered", 1), (None, 1), ("confirmed", 31)]
)
def test_owners_cannot_refund_after_shipment_or_the_window(order_status, days):
    with pytest.raises(RefundNotAllowed) as refused:
        check_refund_allowed(
            by_admin=False,
            processed_at=NOW - timedelta(days=days),
            now=NOW,
            window=WINDOW,
            order_status=order_status,
        )
    assert (refused.value.status, refused.value.code) == (409, "REFUND_NOT_ALLOWED")


def test_admins_refund_any_time():
    check_refund_allowed(
        by_admin=True,
        processed_at=NOW - timedelta(days=400),
        now=NOW,
        window=WINDOW,
        order_status="delivered",
    )


def test_a_completion_nobody_wants_is_refunded():
    before = payment(Status.PENDING)
    other = payment(Status.COMPLETED, order_id=before.order_id)
    assert refund_on_completion(before, True, []) is RefundOrigin.ORDER_CANCELLED
    assert refund_on_completion(payment(Status.CANCELLED), False, []) is RefundOrigin.UNWANTED
    assert refund_on_completion(before, False, [before, other]) is RefundOrigin.UNWANTED
    refunded_other = replace(other, refund_pending=other.amount)
    assert refund_on_completion(before, False, [before, refunded_other]) is None
    still_paying = payment(Status.PENDING, order_id=before.order_id)
    late = payment(Status.FAILED, order_id=before.order_id)
    assert refund_on_completion(late, False, [late, still_paying]) is RefundOrigin.UNWANTED
    assert refund_on_completion(late, False, [late, replace(still_paying, status=Status.FAILED)]) is None


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
