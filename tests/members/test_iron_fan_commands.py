"""The iron-fan jobs by hand (management commands) and on schedule (beat, tasks)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loyalty.celery import app
from loyalty.schedule import BEAT_SCHEDULE
from members import tasks
from members.engagement import jobs
from members.engagement.models import AccountDailyStat, EngagementEvent
from members.models import Follow
from tests.members.factories import AccountFactory, EngagementEventFactory, FanPolicyFactory, FollowFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def koe(merchant):
    FanPolicyFactory(merchant=merchant, min_active_days=0, promote_at=40, demote_below=25)
    return AccountFactory(merchant=merchant, handle="lin")


def test_recompute_iron_fans_prints_the_changes_per_account(merchant, koe):
    FollowFactory(account=koe, score=100.0, score_at=timezone.now())

    out = run("recompute_iron_fans", "--merchant", merchant.slug)

    assert f"{merchant.slug}: 1 promoted, 0 demoted" in out
    assert "@lin: +1 -0" in out
    assert Follow.objects.get(account=koe).iron_fan is True


def test_recompute_iron_fans_of_an_unknown_merchant_is_an_error(db):
    with pytest.raises(CommandError, match="No merchant"):
        run("recompute_iron_fans", "--merchant", "nobody")


def test_snapshot_fan_stats_backfills_the_day_given(merchant, koe):
    follow = FollowFactory(account=koe)
    Follow.objects.filter(pk=follow.pk).update(created_at=datetime(2026, 10, 1, tzinfo=UTC))

    out = run("snapshot_fan_stats", "--date", "2026-10-02")

    assert "Snapshot of 2026-10-02" in out
    assert AccountDailyStat.objects.get(account=koe, date="2026-10-02").fans == 1


@pytest.mark.parametrize("bad", ["02/10/2026", "2999-01-01"])
def test_snapshot_fan_stats_refuses_a_bad_date(db, bad):
    with pytest.raises(CommandError):
        run("snapshot_fan_stats", "--date", bad)


def test_prune_engagement_prints_what_it_forgot(koe):
    EngagementEventFactory(account=koe, occurred_at=timezone.now() - timedelta(days=400))

    out = run("prune_engagement")

    assert "1 rows deleted" in out
    assert not EngagementEvent.objects.exists()


def test_the_hourly_task_sends_one_task_per_follow_range_and_each_promotes_its_range(
    merchant, koe, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 2)
    follows = [FollowFactory(account=koe, score=100.0, score_at=timezone.now()) for _ in range(3)]
    sent = []
    monkeypatch.setattr(tasks.recompute_iron_fans_range, "delay", lambda **kwargs: sent.append(kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recompute_iron_fans() == {"ranges": 2}

    assert [(s["lo"], s["hi"], s["merchant_id"]) for s in sent] == [
        (follows[0].pk, follows[1].pk, merchant.pk),
        (follows[2].pk, follows[2].pk, merchant.pk),
    ]
    assert [tasks.recompute_iron_fans_range(**s) for s in sent] == [
        {"promoted": 2, "demoted": 0},
        {"promoted": 1, "demoted": 0},
    ]
    assert tasks.recompute_iron_fans_range(**sent[0]) == {"promoted": 0, "demoted": 0}  # run twice: no change


def test_the_nightly_tasks_run_their_jobs(merchant, koe):
    FollowFactory(account=koe, score=100.0, score_at=timezone.now())

    assert tasks.snapshot_fan_stats()["accounts"] >= 1
    assert tasks.prune_engagement()["deleted_rows"] == 0


@pytest.mark.parametrize(
    ("entry", "task"),
    [
        ("recompute-iron-fans", "members.recompute_iron_fans"),
        ("snapshot-fan-stats-nightly", "members.snapshot_fan_stats"),
        ("prune-engagement-nightly", "members.prune_engagement"),
    ],
)
def test_beat_runs_the_iron_fan_jobs_and_the_worker_knows_them(entry, task):
    app.loader.import_default_modules()

    assert BEAT_SCHEDULE[entry]["task"] == task
    assert task in app.tasks


def test_the_worker_knows_the_range_task_the_hourly_one_sends():
    app.loader.import_default_modules()

    assert "members.recompute_iron_fans_range" in app.tasks
