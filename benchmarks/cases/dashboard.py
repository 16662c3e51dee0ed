"""The merchant dashboard with a year of daily rows: every chart's JSON view and the index
page, server time (in process, through the whole middleware stack), beside a raw-SQL twin
that reads the same rows with one hand-written SELECT per chart.

Target: the page (the index plus every chart view, medians added up) within 300 ms.
Also measured: the nightly job, one day of every merchant of the dataset.
"""

import statistics
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark
from coupons.models import Coupon, CouponTemplate
from loyalty.dashboard import jobs
from loyalty.dashboard.charts import CHARTS
from loyalty.dashboard.models import MerchantDailyCoupons, MerchantDailyMetrics, MerchantDailyTier
from members.engagement.models import AccountDailyStat
from members.models import Account, Merchant, MerchantStaff, Tier

SLUG = "bench-dashboard"
DAYS = 366
KOE_ACCOUNTS = 20
TEMPLATES = 10
REPEAT = 15

STAT, ACCOUNT = AccountDailyStat._meta.db_table, Account._meta.db_table
DAILY, TIER_DAILY = MerchantDailyMetrics._meta.db_table, MerchantDailyTier._meta.db_table
COUPON_DAILY = MerchantDailyCoupons._meta.db_table
STATS_OF_MERCHANT = f"FROM {STAT} s JOIN {ACCOUNT} a ON a.id = s.account_id WHERE a.merchant_id = %(m)s"
RAW = {
    "iron-fan-ratio": f"SELECT s.account_id, s.date, s.fans, s.iron_fans {STATS_OF_MERCHANT} "
    "AND s.date > %(d90)s",
    "koe-leaderboard": f"SELECT s.account_id, s.fans, s.iron_fans {STATS_OF_MERCHANT} AND a.kind = 'koe' "
    "AND s.date IN (%(today)s, %(d30)s)",
    "members-weekly": f"SELECT date, members, joins, leaves FROM {DAILY} WHERE merchant_id = %(m)s "
    "AND date > %(d182)s",
    "tiers": f"SELECT tier_id, members FROM {TIER_DAILY} WHERE merchant_id = %(m)s AND date = %(today)s",
    "repurchase": f"SELECT date, buyers_90d, repeat_buyers_90d FROM {DAILY} WHERE merchant_id = %(m)s "
    "AND date > %(d90)s",
    "coupon-funnel": f"SELECT template_id, SUM(issued), SUM(redeemed), SUM(expired) FROM {COUPON_DAILY} "
    "WHERE merchant_id = %(m)s AND date > %(d90)s GROUP BY template_id",
    "points": f"SELECT date, points_outstanding, points_expiring_30d FROM {DAILY} WHERE merchant_id = %(m)s "
    "AND date > %(d90)s",
}


@benchmark("dashboard.page", title="Merchant dashboard with a year of daily rows, beside raw SELECTs")
def dashboard_page(ctx) -> list[Result]:
    merchant, user = _setup()
    try:
        with override_settings(STORAGES=STORAGES):
            index, charts = _measure_pages(user)
        raw = _raw(merchant)
        merchants = Merchant.objects.count()
        started = time.perf_counter()
        jobs.metrics_compute(days=[timezone.now().date() - timedelta(days=1)])
        nightly = time.perf_counter() - started
    finally:
        _teardown()
    page = index + sum(charts.values())
    for name, seconds in charts.items():
        say(f"  chart {name:<16} {seconds * 1000:7.1f} ms")
    say(f"  index page             {index * 1000:7.1f} ms")
    say(f"  page total             {page * 1000:7.1f} ms   raw SELECTs of the same rows {raw * 1000:6.1f} ms")
    say(f"  nightly job, one day of {merchants} merchants: {nightly:.2f}s")
    return [
        Result("dashboard.page.server_ms", page * 1000, "ms", baseline=raw * 1000, target=at_most(300)),
        Result("dashboard.nightly_day_s", nightly, "s"),
    ]


# The page's asset URLs without a collectstatic manifest (the bench never runs collectstatic).
STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def _measure_pages(user) -> tuple[float, dict[str, float]]:
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")
    client.force_login(user)
    get = partial(client.get, secure=True)  # as behind the HTTPS proxy: no redirect
    get("/admin/")  # warm: templates, the session
    index = _median(lambda: get("/admin/"))
    return index, {
        name: _median(lambda name=name: get(f"/admin/dashboard/charts/{name}/")) for name in CHARTS
    }


def _median(call) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code}: {response.content[:200]!r}")
    return statistics.median(times)


def _raw(merchant: Merchant) -> float:
    today = timezone.now().date()
    params = {
        "m": merchant.pk,
        "today": today,
        "d30": today - timedelta(days=30),
        "d90": today - timedelta(days=90),
        "d182": today - timedelta(days=182),
    }
    total = 0.0
    with connection.cursor() as cursor:
        for sql in RAW.values():
            times = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                times.append(time.perf_counter() - started)
            total += statistics.median(times)
    return total


def _setup() -> tuple[Merchant, object]:
    _teardown()
    now = timezone.now()
    today = now.date()
    merchant = Merchant.objects.create(slug=SLUG, name="Bench dashboard")
    user = get_user_model().objects.create_user(username=SLUG, password="x", is_staff=True)
    MerchantStaff.objects.create(user=user, merchant=merchant)
    accounts = [
        Account.objects.create(merchant=merchant, handle=SLUG, kind=Account.Kind.BRAND, display_name="B")
    ]
    accounts += [
        Account.objects.create(
            merchant=merchant, handle=f"{SLUG}-{i}", kind=Account.Kind.KOE, display_name=f"K{i}"
        )
        for i in range(KOE_ACCOUNTS)
    ]
    tiers = [Tier.objects.create(merchant=merchant, name=f"T{i}", rank=i) for i in range(3)]
    templates = [
        CouponTemplate.objects.create(merchant=merchant, name=f"T{i}", kind="fixed", value=5, valid_days=30)
        for i in range(TEMPLATES)
    ]
    days = [today - timedelta(days=n) for n in range(DAYS)]
    AccountDailyStat.objects.bulk_create(
        AccountDailyStat(account=a, date=d, fans=1000 + n, iron_fans=100 + n % 50, snapshot_at=now)
        for a in accounts
        for n, d in enumerate(days)
    )
    MerchantDailyMetrics.objects.bulk_create(
        MerchantDailyMetrics(
            merchant=merchant,
            date=d,
            members=10_000 + n,
            joins=n % 40,
            fans=20_000,
            iron_fans=2_000 + n,
            buyers_90d=3_000,
            repeat_buyers_90d=900 + n % 100,
            points_outstanding=10**6 + n,
            computed_at=now,
        )
        for n, d in enumerate(days)
    )
    MerchantDailyTier.objects.bulk_create(
        MerchantDailyTier(merchant=merchant, date=d, tier=t, members=3_000) for t in tiers for d in days
    )
    MerchantDailyCoupons.objects.bulk_create(
        MerchantDailyCoupons(merchant=merchant, date=d, template=t, source=source, issued=50, redeemed=10)
        for t in templates
        for d in days
        for source in (Coupon.Source.CAMPAIGN, Coupon.Source.REPURCHASE, Coupon.Source.JOIN)
    )
    with connection.cursor() as cursor:
        for model in (AccountDailyStat, MerchantDailyMetrics, MerchantDailyTier, MerchantDailyCoupons):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    say(f"  {len(accounts)} accounts x {DAYS} days of snapshots, {DAYS} daily rows, {TEMPLATES} templates")
    return merchant, user


def _teardown() -> None:
    get_user_model().objects.filter(username=SLUG).delete()
    Merchant.objects.filter(slug=SLUG).delete()
