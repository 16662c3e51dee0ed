"""GET /api/v1/merchant/metrics: the daily series, the merchant's own, within a query budget."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.dashboard import jobs
from loyalty.dashboard.models import MerchantDailyMetrics
from tests.conftest import assert_error, row_counts
from tests.loyalty.dashboard.world import DAY, EXPECTED, build_day

URL = "/api/v1/merchant/metrics"
# Key check, page of days, tiers of those days, coupons of those days (and the cursor's nothing).
METRICS_QUERIES = 5

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(merchant, other_merchant, clock):
    clock.now = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=1
    )
    build_day(merchant)
    build_day(other_merchant)
    jobs.metrics_compute(days=[DAY - timedelta(days=n) for n in range(3)])


def test_the_series_holds_the_days_figures_and_breakdowns(merchant_api, computed):
    response = merchant_api.get(URL, {"days": 7})

    assert response.status_code == 200, response.content
    days = response.json()["results"]
    assert [d["date"] for d in days] == [(DAY - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    last = days[-1]
    for name, value in EXPECTED.items():
        assert last[name] == (f"{value}" if name == "revenue" else value), name
    assert last["iron_fan_ratio"] == round(5 / 15, 4)
    assert last["repurchase_rate"] == 0.5
    assert {t["tier"]: t["members"] for t in last["tiers"]} == {"Gold": 1, None: 1}
    assert sorted((c["source"], c["issued"], c["redeemed"], c["expired"]) for c in last["coupons"]) == [
        ("campaign", 2, 0, 0),
        ("join", 0, 0, 1),
        ("repurchase", 0, 1, 0),
    ]


def test_days_bounds_the_window(merchant_api, computed):
    response = merchant_api.get(URL, {"days": 1})

    # Today is the day after DAY: a one-day window holds no computed day yet.
    assert response.json()["results"] == []
    assert len(merchant_api.get(URL, {"days": 2}).json()["results"]) == 1
    assert len(merchant_api.get(URL).json()["results"]) == 3  # default 90


def test_a_merchant_sees_only_its_own_days(merchant, other_merchant, other_merchant_api, computed):
    MerchantDailyMetrics.objects.filter(merchant=merchant).update(members=1234)

    days = other_merchant_api.get(URL).json()["results"]

    assert days and all(d["members"] == EXPECTED["members"] for d in days)


def test_the_series_keeps_its_query_budget_whatever_the_days(
    merchant, merchant_api, clock, django_assert_max_num_queries
):
    build_day(merchant)
    today = clock().date()
    jobs.metrics_compute(days=[today - timedelta(days=n) for n in range(1, 31)])

    with django_assert_max_num_queries(METRICS_QUERIES):
        response = merchant_api.get(URL, {"days": 90})

    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize("days", ["0", "401", "-1", "ninety", "1.5", ""])
def test_days_out_of_range_is_a_400_on_days_and_writes_nothing(merchant_api, days):
    before = row_counts()

    response = merchant_api.get(URL, {"days": days})

    assert_error(response, 400, response.json()["errors"][0]["code"], attr="days")
    assert row_counts() == before


def test_without_a_key_there_is_no_series(api):
    response = api.get(URL)

    assert response.status_code in (401, 403)
