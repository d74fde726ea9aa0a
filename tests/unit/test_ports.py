"""agora.ports.Transaction: what every PostgreSQL service's unit of work promises its use cases."""

import importlib
import inspect
from typing import Protocol

import pytest

from agora.ports import Transaction
from agora.uow import PostgresUnitOfWork

PROMISED = ("__enter__", "__exit__", "emit", "claim")


def test_the_transaction_port_promises_the_unit_of_works_members():
    for name in PROMISED:
        assert name in Transaction.__dict__


def test_the_postgres_unit_of_work_keeps_every_promise_with_the_same_parameters():
    for name in PROMISED:
        promised = inspect.signature(getattr(Transaction, name))
        kept = inspect.signature(getattr(PostgresUnitOfWork, name))
        assert list(kept.parameters) == list(promised.parameters), name


@pytest.mark.parametrize("service", ["orders", "payments", "products"])
def test_each_postgresql_service_port_extends_it(service):
    ports = importlib.import_module(f"{service}.service.ports")
    assert Transaction in ports.UnitOfWork.__mro__
    assert Protocol in ports.UnitOfWork.__bases__
