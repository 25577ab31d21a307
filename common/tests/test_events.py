"""common.events: handlers see a batch only once its transaction has committed, and never hurt the publisher."""

import pytest
from django.db import transaction

from common import events

pytestmark = pytest.mark.django_db(transaction=True)  # real commits and rollbacks


@pytest.fixture
def seen():
    batches = []

    def record(batch):
        batches.append(batch)

    events.subscribe(record)
    yield batches
    events.unsubscribe(record)


def test_a_batch_is_handed_on_when_its_transaction_commits(seen):
    with transaction.atomic():
        events.publish_on_commit(["a", "b"])
        with transaction.atomic():  # a savepoint commits nothing yet
            events.publish_on_commit(["c"])
        assert seen == []
    assert seen == [["a", "b"], ["c"]]


def test_a_rolled_back_transaction_publishes_nothing(seen):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            events.publish_on_commit(["lost"])
            raise RuntimeError
    with transaction.atomic():
        try:
            with transaction.atomic():
                events.publish_on_commit(["rolled back savepoint"])
                raise RuntimeError
        except RuntimeError:
            pass
        events.publish_on_commit(["kept"])
    assert seen == [["kept"]]


def test_outside_a_transaction_it_is_handed_on_at_once(seen):
    events.publish_on_commit(iter(["now"]))
    events.publish_on_commit([])  # an empty batch is not a batch
    assert seen == [["now"]]


def test_a_failing_handler_reaches_neither_the_publisher_nor_the_other_handlers(seen, caplog):
    def broken(batch):
        raise ValueError("handler bug")

    events.subscribe(broken)
    events.subscribe(broken)  # subscribing twice is once
    try:
        with transaction.atomic():
            events.publish_on_commit(["x"])
        events.publish_on_commit(["y"])
    finally:
        events.unsubscribe(broken)
    assert seen == [["x"], ["y"]]
    assert [r.message for r in caplog.records].count(f"event handler {broken!r} failed") == 2
