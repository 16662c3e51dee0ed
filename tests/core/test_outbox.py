"""The transactional outbox: a task is sent if and only if its transaction commits,
and a broker that refuses it only delays it."""

from datetime import timedelta

import pytest
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.models import OutboxMessage
from core.outbox import outbox_backlog, outbox_prune, outbox_relay, outbox_send, outbox_send_many
from tests.conftest import requires_postgres
from tests.threads import all_at_once


@shared_task(name="tests.core.outbox_effect")
def effect(*, n: int) -> None:  # pragma: no cover - the tests record the sends instead
    raise AssertionError("the test records the sends instead")


@pytest.fixture
def sent(monkeypatch):
    got: list = []
    monkeypatch.setattr(effect, "delay", lambda **kwargs: got.append(kwargs))
    return got


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(**kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(effect, "delay", refuse)


def pending() -> list[int]:
    return sorted(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("kwargs__n", flat=True))


def test_a_message_is_written_with_the_effect_and_sent_right_after_the_commit(
    db, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox_send(effect, n=1)
        assert sent == []  # nothing leaves before the commit
        assert OutboxMessage.objects.get().task == "tests.core.outbox_effect"

    assert sent == [{"n": 1}]
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 0


def test_a_rolled_back_transaction_sends_nothing_and_leaves_nothing(
    db, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        outbox_send(effect, n=1)
        raise RuntimeError("the effect fails after the send was written")

    assert sent == []
    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_savepoint_drops_its_message_only(db, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_send(effect, n=1)
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_send(effect, n=2)
            raise RuntimeError
        outbox_send(effect, n=3)

    assert sent == [{"n": 1}, {"n": 3}]
    assert pending() == []


def test_many_messages_go_in_the_order_written(db, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_send_many(effect, [{"n": i} for i in range(5)])
        outbox_send("tests.core.outbox_effect", n=5)  # by name too

    assert sent == [{"n": i} for i in range(6)]


def test_a_broker_down_at_the_commit_keeps_the_message_and_the_relay_sends_it_later(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        effect, "delay", lambda **kwargs: (_ for _ in ()).throw(ConnectionRefusedError("down"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox_send_many(effect, [{"n": 1}, {"n": 2}])  # the commit itself succeeds

    message = OutboxMessage.objects.get(kwargs__n=1)
    assert pending() == [1, 2]
    assert message.attempts == 1 and "down" in message.last_error
    assert message.available_at > timezone.now()  # backed off

    got: list = []
    monkeypatch.setattr(effect, "delay", lambda **kwargs: got.append(kwargs))
    assert outbox_relay(now=timezone.now() + timedelta(seconds=2)).sent == 2
    assert got == [{"n": 1}, {"n": 2}]
    assert pending() == []
    assert outbox_relay().sent == 0  # sent once


def test_failed_sends_back_off_longer_each_time_up_to_a_minute(db, broker_down):
    outbox_send(effect, n=1)
    waits = []
    for _ in range(8):
        due = OutboxMessage.objects.get().available_at
        outbox_relay(now=due)
        waits.append((OutboxMessage.objects.get().available_at - due).total_seconds())

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert OutboxMessage.objects.get().attempts == 8


def test_a_message_not_yet_due_waits_and_the_backlog_says_so(
    db, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_send(effect, n=1)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_send(effect, n=2)  # the first is backed off; the second's fast path fails too

    backlog = outbox_backlog(now=timezone.now() + timedelta(seconds=30))
    assert (backlog.pending, backlog.failing) == (2, 2)
    assert 29 < backlog.oldest_age_seconds < 40
    assert outbox_relay().sent == 0  # neither is due yet


def test_the_backlog_of_an_empty_outbox(db):
    assert outbox_backlog() == outbox.Backlog(pending=0, oldest_age_seconds=0.0, failing=0)


def test_sent_messages_are_pruned_after_a_week_pending_ones_never(db):
    outbox_send(effect, n=1)  # pending
    old = OutboxMessage.objects.create(task="x", sent_at=timezone.now() - timedelta(days=8))
    recent = OutboxMessage.objects.create(task="x", sent_at=timezone.now() - timedelta(days=1))

    assert outbox_prune() == 1
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
    assert OutboxMessage.objects.filter(pk=recent.pk).exists()
    assert pending() == [1]


def test_a_task_this_process_does_not_know_is_sent_by_name(db, monkeypatch):
    from celery import current_app

    names: list = []
    monkeypatch.setattr(current_app, "send_task", lambda name, kwargs: names.append((name, kwargs)))
    outbox_send("somewhere.else", n=1)
    outbox_relay()

    assert names == [("somewhere.else", {"n": 1})]


def test_the_beat_task_relays_what_is_due(db, monkeypatch):
    from core import tasks

    got: list = []
    OutboxMessage.objects.create(task="tests.core.outbox_effect", kwargs={"n": 7})
    monkeypatch.setattr(effect, "delay", lambda **kwargs: got.append(kwargs))

    assert tasks.relay_outbox() == {"sent": 1, "failed": 0}
    assert got == [{"n": 7}]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_message_once(monkeypatch):
    got: list = []
    monkeypatch.setattr(outbox, "_relay_committed", lambda: None)
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task="tests.core.outbox_effect", kwargs={"n": i}) for i in range(200)]
    )
    monkeypatch.setattr(effect, "delay", lambda **kwargs: got.append(kwargs["n"]))

    results = all_at_once([lambda: outbox_relay(batch=20)] * 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.sent for r in results) == 200
    assert sorted(got) == list(range(200))
    assert pending() == []
