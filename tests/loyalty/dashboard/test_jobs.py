"""The daily metrics job: every figure of a day, set-based, idempotent, merchant by merchant."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.dashboard import jobs
from loyalty.dashboard.models import MerchantDailyCoupons, MerchantDailyMetrics, MerchantDailyTier
from tests.loyalty.dashboard.world import DAY, EXPECTED, at, build_day

pytestmark = pytest.mark.django_db


def metrics_row(merchant) -> dict:
    return MerchantDailyMetrics.objects.filter(merchant=merchant, date=DAY).values(*EXPECTED).get()


def test_a_day_holds_every_figure_of_the_merchant_and_none_of_another(merchant, other_merchant):
    # Given two merchants with the same kind of day
    build_day(merchant)
    build_day(other_merchant)

    # When the day is computed
    result = jobs.metrics_compute(days=[DAY], now=at(DAY + timedelta(days=1), 1))

    # Then each merchant's row holds its own figures
    assert result.merchant_rows == 2
    assert metrics_row(merchant) == EXPECTED
    assert metrics_row(other_merchant) == EXPECTED


def test_tiers_and_coupons_are_broken_down(merchant):
    world = build_day(merchant)

    jobs.metrics_compute(days=[DAY])

    tiers = {
        (row.tier.name if row.tier else None): row.members
        for row in MerchantDailyTier.objects.filter(merchant=merchant, date=DAY).select_related("tier")
    }
    assert tiers == {"Gold": 1, None: 1}
    coupons = {
        (row.source, row.campaign_id): (row.issued, row.redeemed, row.expired)
        for row in MerchantDailyCoupons.objects.filter(
            merchant=merchant, date=DAY, template=world["template"]
        )
    }
    assert coupons == {
        ("campaign", world["campaign"].pk): (2, 0, 0),
        ("repurchase", None): (0, 1, 0),
        ("join", None): (0, 0, 1),
    }


def test_rerunning_a_day_rewrites_it_with_the_same_figures(merchant):
    build_day(merchant)
    jobs.metrics_compute(days=[DAY])
    before = (
        metrics_row(merchant),
        MerchantDailyTier.objects.count(),
        MerchantDailyCoupons.objects.count(),
    )

    jobs.metrics_compute(days=[DAY])

    assert (
        metrics_row(merchant),
        MerchantDailyTier.objects.count(),
        MerchantDailyCoupons.objects.count(),
    ) == before
    assert MerchantDailyMetrics.objects.count() == 1


def test_a_day_of_a_merchant_range_is_a_constant_number_of_statements(merchant, other_merchant):
    build_day(merchant)
    build_day(other_merchant)

    with CaptureQueriesContext(connection) as queries:
        jobs.metrics_day_range(day=DAY, lo=0, hi=10**12)

    # Three deletes and three INSERT ... SELECT, however many merchants and rows.
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 3
    assert all("SELECT" in sql.upper() for sql in inserts)
    assert len(queries) <= 8  # plus the savepoint around the transaction


def test_a_merchant_without_anything_gets_a_row_of_zeros(merchant):
    jobs.metrics_compute(days=[DAY])

    row = MerchantDailyMetrics.objects.get(merchant=merchant, date=DAY)
    assert (row.members, row.fans, row.orders, row.points_outstanding) == (0, 0, 0, 0)
    assert row.iron_fan_ratio == 0.0 and row.repurchase_rate == 0.0


def test_backfill_computes_only_missing_days_and_rebuild_all(merchant, capsys):
    build_day(merchant)
    jobs.metrics_compute(days=[DAY])
    computed_at = MerchantDailyMetrics.objects.get(date=DAY).computed_at

    call_command("daily_metrics", "backfill", "--days", "3", "--until", DAY.isoformat())

    assert "2 days" in capsys.readouterr().out
    assert sorted(MerchantDailyMetrics.objects.values_list("date", flat=True)) == [
        DAY - timedelta(days=2),
        DAY - timedelta(days=1),
        DAY,
    ]
    assert MerchantDailyMetrics.objects.get(date=DAY).computed_at == computed_at  # kept

    call_command("daily_metrics", "rebuild", "--days", "3", "--until", DAY.isoformat())

    assert "3 days" in capsys.readouterr().out
    assert MerchantDailyMetrics.objects.get(date=DAY).computed_at != computed_at
    assert metrics_row(merchant) == EXPECTED


@pytest.mark.parametrize(
    "args", [["--days", "0"], ["--until", "10-03-2026"], ["--merchant", "nobody"]], ids=str
)
def test_bad_command_arguments_are_refused_and_write_nothing(merchant, args):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("daily_metrics", "backfill", *args)
    assert not MerchantDailyMetrics.objects.exists()


def test_the_nightly_task_sends_one_chunk_task_per_merchant_range(
    merchant, other_merchant, django_capture_on_commit_callbacks, monkeypatch
):
    from loyalty import tasks

    sent = []
    monkeypatch.setattr(tasks.daily_metrics_chunk, "delay", lambda **kw: sent.append(kw))
    monkeypatch.setattr(jobs, "METRICS_CHUNK_MERCHANTS", 1)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.daily_metrics()

    assert result["chunks"] == 2
    day = jobs.last_complete_day().isoformat()
    assert sorted((kw["lo"], kw["hi"]) for kw in sent) == sorted(
        [(merchant.pk, merchant.pk), (other_merchant.pk, other_merchant.pk)]
    )
    # And each chunk task computes its range's day.
    for kw in sent:
        tasks.daily_metrics_chunk(**kw)
    assert MerchantDailyMetrics.objects.filter(date=day).count() == 2
