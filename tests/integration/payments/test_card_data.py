"""Card numbers given to payments reach the simulated provider only: no row, event or log line holds one.

Agora keeps the provider's token and the last four digits; metadata, description and refund reasons are
stored with their card numbers masked, and Idempotency-Key body hashes are keyed HMACs of the masked body.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from decimal import Decimal

import pytest
from psycopg import sql

from agora.db import fetch_all
from agora.errors import UnprocessableEntity
from payments.domain.provider import DECLINED_CARD
from payments.service import lifecycle
from tests.integration.payments.test_payments import request, who

VISA_SPACED = "4242 4242 4242 4242"
MASTERCARD = 5555555555554444
DISCOVER_DASHED = "6011-1111-1111-1117"
AMEX = "378282246310005"
VISA_DEBIT_SPACED = "4000 0566 5566 5556"
# Sixteen digits failing Luhn: an order reference, not a card, kept as it was given.
NOT_A_CARD = "4242424242424241"
CARDS = [VISA_SPACED, str(MASTERCARD), DISCOVER_DASHED, AMEX, VISA_DEBIT_SPACED, DECLINED_CARD]


def forms(card: str) -> set[str]:
    digits = re.sub(r"\D", "", card)
    return {card, digits, " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))}


def database_text(ctx) -> str:
    """Every row of every table of the payments database (the outbox and the provider's own included)."""
    with ctx.unit_of_work() as uow:
        conn = uow.payments.conn
        tables = [
            r["tablename"]
            for r in fetch_all(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"payments", "refunds", "outbox", "payment_attempts", "simulated_provider_intents"} <= set(
            tables
        )
        return "\n".join(
            r["text"]
            for t in tables
            for r in fetch_all(conn, sql.SQL("SELECT t::text AS text FROM {} t").format(sql.Identifier(t)))
        )


def assert_no_card_in(text: str, where: str) -> None:
    for card in CARDS:
        for form in forms(card):
            assert form not in text, f"{form} found in {where}"


def test_card_numbers_are_stored_published_and_logged_nowhere(pay, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    ctx, orders, bus = pay
    metadata = {
        "items": [{"pan": MASTERCARD}, {"note": f"paid with {DISCOVER_DASHED} last time"}],
        "backup": {"cards": [[AMEX]], VISA_DEBIT_SPACED: "as a key"},
        "order_ref": NOT_A_CARD,
    }
    body = request(
        orders.add(),
        description=f"gift, card {AMEX}",
        metadata=metadata,
        card={"number": VISA_SPACED, "exp_month": 12, "exp_year": 2030, "cvc": "987"},
    )
    first = lifecycle.create_payment(ctx, who(), body, "key-1")
    payment = first["payment"]
    assert payment["card_last4"] == "4242"
    assert payment["metadata"] == {
        "items": [{"pan": "•••• 4444"}, {"note": "paid with •••• 1117 last time"}],
        "backup": {"cards": [["•••• 0005"]], "•••• 5556": "as a key"},
        "order_ref": NOT_A_CARD,
    }
    assert payment["description"] == "gift, card •••• 0005"

    # The same body under the same key replays; another body under it is refused.
    assert lifecycle.create_payment(ctx, who(), body, "key-1")["payment"]["id"] == payment["id"]
    other = body | {"card": body["card"] | {"number": "4000 0566 5566 5556"}}
    with pytest.raises(UnprocessableEntity) as reused:
        lifecycle.create_payment(ctx, who(), other, "key-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"

    lifecycle.confirm(ctx, who(), payment["id"], None)
    refunded = lifecycle.refund(ctx, who(), payment["id"], Decimal("1.00"), f"wrong card {AMEX}", "r-1")
    assert refunded["refunded_amount"] == 1.0
    # The tutorial's way still reaches the provider, and is kept out of the metadata.
    declined = lifecycle.create_payment(
        ctx, who(), request(orders.add(), metadata={"card_number": DECLINED_CARD, "gift": True}), "key-2"
    )["payment"]
    assert (declined["status"], declined["card_last4"], declined["metadata"]) == (
        "failed",
        "0002",
        {"gift": True},
    )

    stored = database_text(ctx)
    assert_no_card_in(stored, "the database")
    assert NOT_A_CARD in stored
    assert "cvc" not in stored and "exp_year" not in stored
    assert_no_card_in(json.dumps([e.data for e in bus.published]), "the events")
    assert {"payment.created", "payment.completed", "payment.refunded", "payment.failed"} <= {
        e.type for e in bus.published
    }
    captured = capsys.readouterr()
    assert_no_card_in(captured.out + captured.err + caplog.text, "the logs")
    with ctx.unit_of_work() as uow:
        kept = uow.payments.get(uuid.UUID(payment["id"]))
    assert kept is not None and kept.card_token is not None and kept.card_token.startswith("pm_")
    assert kept.request_hash is not None and len(kept.request_hash) == 64
