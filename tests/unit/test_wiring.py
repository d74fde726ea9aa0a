"""agora.wiring: a service's context is built once per container, and units of work share a publisher."""

from agora.events import EventPublisher
from agora.wiring import ContainerContext, units_of_work


def test_the_context_is_built_on_first_use_and_kept():
    built = []

    def build():
        built.append(object())
        return built[-1]

    context = ContainerContext(build)
    assert built == []
    first = context()
    assert context() is first and context() is first
    assert built == [first]


def test_a_test_puts_its_own_context_in_place(monkeypatch):
    context = ContainerContext(lambda: "real")
    monkeypatch.setattr(context, "current", "fake")
    assert context() == "fake"
    monkeypatch.undo()
    assert context() == "real"


def test_each_unit_of_work_gets_the_containers_connection_and_one_publisher(monkeypatch):
    connections = iter(["first connection", "second connection"])
    monkeypatch.setattr("agora.db.pool", lambda: next(connections))
    made = []

    class UnitOfWork:
        def __init__(self, pool, publisher):
            made.append((pool, publisher))

    factory = units_of_work(UnitOfWork, "the-bus")
    assert made == [], "nothing is opened before a use case asks"
    factory(), factory()
    (pool1, publisher1), (pool2, publisher2) = made
    assert (pool1, pool2) == ("first connection", "second connection")
    assert publisher1 is publisher2
    assert isinstance(publisher1, EventPublisher)
    assert publisher1.bus_name == "the-bus"
