"""The iron-fan jobs: recompute (decay, hysteresis, min_active_days), snapshot, retention.

The clock is frozen by passing ``now``: every job takes it.
"""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, connections

from members import services as members_services
from members.engagement import jobs, partitions
from members.engagement.models import AccountDailyStat, EngagementEvent, EngagementScore
from members.engagement.selectors import fan_policy_get
from members.engagement.services import EventInput, engagement_store
from members.models import Follow
from tests.conftest import requires_postgres
from tests.members.factories import (
    AccountFactory,
    EngagementEventFactory,
    FanPolicyFactory,
    FollowFactory,
    ShopperFactory,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HALF_LIFE = timedelta(days=14)


@pytest.fixture
def account(merchant):
    # promote at 40, demote below 25, half-life 14 days; activity days off unless a test sets them
    FanPolicyFactory(merchant=merchant, promote_at=40, demote_below=25, half_life_days=14, min_active_days=0)
    return AccountFactory(merchant=merchant)


def fan(account, *, score: float, age: timedelta = HALF_LIFE, iron: bool = False) -> Follow:
    since = NOW - timedelta(days=30) if iron else None
    follow = FollowFactory(
        account=account, score=score, score_at=NOW - age, iron_fan=iron, iron_fan_since=since
    )
    Follow.objects.filter(pk=follow.pk).update(created_at=NOW - timedelta(days=60))
    return follow


def reloaded(follow: Follow) -> Follow:
    return Follow.objects.get(pk=follow.pk)


def test_a_fan_whose_decayed_score_reaches_promote_at_becomes_an_iron_fan(merchant, account):
    reaches = fan(account, score=80.0)  # 40.0 now: at the threshold
    short = fan(account, score=79.0)  # 39.5 now

    result = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert (result.promoted, result.demoted) == (1, 0)
    assert reloaded(reaches).iron_fan is True
    assert reloaded(reaches).iron_fan_since == NOW
    assert reloaded(short).iron_fan is False
    # The comparison decays; the stored score is not rewritten.
    assert (reloaded(reaches).score, reloaded(reaches).score_at) == (80.0, NOW - HALF_LIFE)


def test_an_iron_fan_falls_back_only_below_demote_below(merchant, account):
    keeps = fan(account, score=50.0, iron=True)  # 25.0 now: not below
    falls = fan(account, score=49.0, iron=True)  # 24.5 now

    result = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert (result.promoted, result.demoted) == (0, 1)
    assert reloaded(keeps).iron_fan is True
    assert reloaded(keeps).iron_fan_since == NOW - timedelta(days=30)
    assert reloaded(falls).iron_fan is False
    assert reloaded(falls).iron_fan_since is None


@pytest.mark.parametrize("iron", [True, False])
def test_a_fan_between_the_thresholds_keeps_their_status_either_way(merchant, account, iron):
    between = fan(account, score=60.0, iron=iron)  # 30.0 now: 25 <= 30 < 40

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert reloaded(between).iron_fan is iron


def test_a_second_run_changes_nothing(merchant, account):
    fan(account, score=100.0)
    fan(account, score=10.0, iron=True)
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)
    before = list(Follow.objects.order_by("pk").values())

    again = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert (again.promoted, again.demoted) == (0, 0)
    assert list(Follow.objects.order_by("pk").values()) == before


def test_only_rows_whose_status_changes_are_written(merchant, account, django_assert_num_queries):
    for score in (1.0, 2.0, 3.0, 60.0):
        fan(account, score=score)
    fan(account, score=100.0)

    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert result.promoted == 1
    updates = [q["sql"] for q in queries if q["sql"].lstrip().startswith("UPDATE")]
    follows = [sql for sql in updates if '"members_follow"' in sql or "members_follow SET" in sql]
    assert len(follows) == 2  # one promote and one demote statement for the range
    # and one set-based statement for the changed shoppers' membership flags, then one for
    # the account's iron-fan count (members.fan_counts)
    assert len(updates) == 4 and "members_membership SET iron_fan" in updates[2]
    assert "members_accountfancount SET" in updates[3]


def test_another_merchants_fans_are_left_alone(merchant, other_merchant, account):
    theirs = fan(AccountFactory(merchant=other_merchant), score=1000.0)

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert reloaded(theirs).iron_fan is False


def test_min_active_days_counts_distinct_days_in_the_last_30(merchant, account):
    policy = fan_policy_get(merchant=merchant)
    policy.min_active_days = 3
    policy.save()
    busy, lazy, stale = (fan(account, score=200.0, age=timedelta(0)) for _ in range(3))
    for days_ago in (1, 2, 5):
        EngagementEventFactory(
            account=account, shopper=busy.shopper, occurred_at=NOW - timedelta(days=days_ago)
        )
    for hours_ago in (1, 2, 30):  # three events on two days
        EngagementEventFactory(
            account=account, shopper=lazy.shopper, occurred_at=NOW - timedelta(hours=hours_ago)
        )
    for days_ago in (1, 2, 31):  # one of the three days is outside the window
        EngagementEventFactory(
            account=account, shopper=stale.shopper, occurred_at=NOW - timedelta(days=days_ago)
        )

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert [reloaded(f).iron_fan for f in (busy, lazy, stale)] == [True, False, False]


def test_the_days_promotions_and_demotions_are_counted_per_account(merchant, account):
    fan(account, score=100.0)
    fan(account, score=100.0)
    fan(account, score=1.0, iron=True)

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    stat = AccountDailyStat.objects.get(account=account, date=NOW.date())
    assert (stat.promoted, stat.demoted) == (2, 1)


def test_the_job_covers_follows_across_several_id_ranges(merchant, account, monkeypatch):
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 2)
    follows = [fan(account, score=100.0) for _ in range(5)]

    result = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert result.promoted == 5 and result.ranges == 3
    assert all(reloaded(f).iron_fan for f in follows)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_recompute_runs_at_once_end_as_one(merchant, account, monkeypatch):
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 7)
    ups = [fan(account, score=100.0) for _ in range(40)]
    downs = [fan(account, score=1.0, iron=True) for _ in range(20)]
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(jobs.iron_fans_recompute(merchant=merchant, now=NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.promoted for r in results) == 40
    assert sum(r.demoted for r in results) == 20
    assert all(reloaded(f).iron_fan for f in ups)
    assert not any(reloaded(f).iron_fan for f in downs)
    stat = AccountDailyStat.objects.get(account=account, date=NOW.date())
    assert (stat.promoted, stat.demoted) == (40, 20)


# --- Follow after engaging ----------------------------------------------------------------


def test_a_shopper_who_follows_after_engaging_starts_from_the_score_earned(merchant, account):
    policy = fan_policy_get(merchant=merchant)
    shopper = ShopperFactory()
    event = EventInput(shopper=shopper.external_id, account=account.handle, kind="share", occurred_at=NOW)
    engagement_store(merchant=merchant, events=[event], policy=policy, now=NOW)  # share: 6 points, no follow
    assert not Follow.objects.filter(shopper=shopper).exists()

    follow, _ = members_services.follow_create(shopper=shopper, handle=account.handle)

    follow.refresh_from_db()
    assert (follow.score, follow.score_at) == (pytest.approx(6.0), NOW)
    assert not EngagementScore.objects.exists()
    # A like one half-life later: 6 decays to 3, plus 2.
    later = EventInput(
        shopper=shopper.external_id, account=account.handle, kind="like", occurred_at=NOW + HALF_LIFE
    )
    engagement_store(merchant=merchant, events=[later], policy=policy, now=NOW + HALF_LIFE)
    follow.refresh_from_db()
    assert follow.score == pytest.approx(5.0)


def test_unfollowing_keeps_the_score_for_a_later_follow(merchant, account):
    follow = fan(account, score=12.0)

    members_services.follow_delete(shopper=follow.shopper, handle=account.handle)
    again, _ = members_services.follow_create(shopper=follow.shopper, handle=account.handle)

    again.refresh_from_db()
    assert (again.score, again.score_at) == (pytest.approx(12.0), NOW - HALF_LIFE)
    assert again.iron_fan is False


def test_the_job_folds_a_waiting_score_left_beside_a_follow(merchant, account):
    follow = fan(account, score=8.0, age=timedelta(days=28))  # 2.0 at NOW
    EngagementScore.objects.create(
        account=account, shopper=follow.shopper, score=4.0, score_at=NOW - HALF_LIFE
    )

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    follow.refresh_from_db()
    # Both brought to the later time (NOW - 14d): 8 -> 4, plus 4.
    assert (follow.score, follow.score_at) == (pytest.approx(8.0), NOW - HALF_LIFE)
    assert not EngagementScore.objects.exists()


# --- The daily snapshot -------------------------------------------------------------------


def test_the_snapshot_counts_fans_and_iron_fans_at_the_end_of_the_day(merchant, account):
    day = date(2026, 11, 19)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    fan(account, score=1.0)
    fan(account, score=1.0, iron=True)
    late_iron = fan(account, score=1.0, iron=True)
    Follow.objects.filter(pk=late_iron.pk).update(iron_fan_since=end + timedelta(hours=1))
    late_fan = fan(account, score=1.0)
    Follow.objects.filter(pk=late_fan.pk).update(created_at=end + timedelta(minutes=1))

    result = jobs.fan_stats_snapshot(day=day, now=end + timedelta(minutes=5))

    assert result.accounts >= 1
    stat = AccountDailyStat.objects.get(account=account, date=day)
    assert (stat.fans, stat.iron_fans, stat.iron_fan_ratio) == (3, 1, pytest.approx(0.3333))


def test_rerunning_a_day_after_it_ended_changes_nothing(merchant, account):
    day = date(2026, 11, 19)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    fan(account, score=1.0, iron=True)
    jobs.fan_stats_snapshot(day=day, now=end + timedelta(minutes=5))
    before = list(AccountDailyStat.objects.values())
    fan(account, score=1.0)
    Follow.objects.filter(account=account).update(created_at=end - timedelta(hours=1))

    jobs.fan_stats_snapshot(day=day, now=end + timedelta(hours=5))

    assert list(AccountDailyStat.objects.values()) == before


def test_a_snapshot_taken_during_the_day_is_replaced_by_the_next(merchant, account):
    day = date(2026, 11, 20)
    fan(account, score=1.0)
    jobs.fan_stats_snapshot(day=day, now=datetime(2026, 11, 20, 10, tzinfo=UTC))
    newer = fan(account, score=1.0)
    Follow.objects.filter(pk=newer.pk).update(created_at=datetime(2026, 11, 20, 11, tzinfo=UTC))

    jobs.fan_stats_snapshot(day=day, now=datetime(2026, 11, 21, 0, 5, tzinfo=UTC))

    assert AccountDailyStat.objects.get(account=account, date=day).fans == 2


def test_the_snapshot_keeps_the_recompute_counters(merchant, account):
    fan(account, score=100.0)
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    jobs.fan_stats_snapshot(day=NOW.date(), now=NOW + timedelta(days=1))

    stat = AccountDailyStat.objects.get(account=account, date=NOW.date())
    assert (stat.fans, stat.iron_fans, stat.promoted) == (1, 1, 1)


# --- Retention ------------------------------------------------------------------------------


def test_prune_forgets_events_older_than_the_window_and_keeps_the_rest(account, settings):
    settings.ENGAGEMENT_RETENTION_DAYS = 90
    now = datetime.now(UTC)
    old = [EngagementEventFactory(account=account, occurred_at=now - timedelta(days=91)) for _ in range(3)]
    kept = EngagementEventFactory(account=account, occurred_at=now - timedelta(days=89))

    result = jobs.engagement_prune(now=now, batch=2)

    assert result.deleted_rows == 3
    assert list(EngagementEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not {e.pk for e in old} & set(EngagementEvent.objects.values_list("pk", flat=True))


@requires_postgres
def test_on_postgresql_prune_drops_whole_old_months_and_creates_the_coming_ones(account, settings):
    settings.ENGAGEMENT_RETENTION_DAYS = 90
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with connection.cursor() as cursor:
        partitions.ensure_month(cursor, date(2026, 6, 1))
    june = EngagementEventFactory(account=account, occurred_at=datetime(2026, 6, 15, tzinfo=UTC))
    august = EngagementEventFactory(account=account, occurred_at=datetime(2026, 8, 25, tzinfo=UTC))
    with connection.cursor() as cursor:
        # The rows' deferred foreign-key checks, pending in the test's transaction, would block the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    result = jobs.engagement_prune(now=now)

    assert date(2026, 6, 1) in result.dropped_months
    with connection.cursor() as cursor:
        months = partitions.existing_months(cursor)
    assert date(2026, 6, 1) not in months
    assert date(2027, 1, 1) in months
    assert not EngagementEvent.objects.filter(pk=june.pk).exists()
    assert EngagementEvent.objects.filter(pk=august.pk).exists()


@requires_postgres
def test_on_postgresql_a_month_created_late_takes_its_rows_from_the_default_partition(account):
    event = EngagementEventFactory(account=account, occurred_at=datetime(2031, 3, 3, tzinfo=UTC))

    with connection.cursor() as cursor:
        assert partitions.ensure_month(cursor, date(2031, 3, 1)) is True
        cursor.execute(f"SELECT COUNT(*) FROM {partitions.partition_name(date(2031, 3, 1))}")
        assert cursor.fetchone()[0] == 1
    assert EngagementEvent.objects.get(pk=event.pk).occurred_at == datetime(2031, 3, 3, tzinfo=UTC)
