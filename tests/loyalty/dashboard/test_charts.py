"""The dashboard's JSON views: each chart the merchant's own, from the daily tables, in a few queries."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client

from loyalty.dashboard import jobs
from loyalty.dashboard.charts import CHARTS
from storefront.models import PushRollout
from tests.conftest import staff_client
from tests.loyalty.dashboard.world import DAY, build_day, build_history
from tests.members.factories import MerchantStaffFactory, UserFactory
from tests.storefront.factories import PushRolloutFactory

pytestmark = pytest.mark.django_db

# Session, user, staff link + merchant, then the chart's own (at most four).
CHART_QUERIES = 8
# The admin index (session, user, staff link, app list, recent actions): the charts load apart.
INDEX_QUERIES = 8


def url(name: str, merchant=None) -> str:
    return f"/admin/dashboard/charts/{name}/" + (f"?merchant={merchant.slug}" if merchant else "")


@pytest.fixture
def today(clock):
    clock.now = datetime.combine(DAY + timedelta(days=1), time(1), tzinfo=UTC)
    return clock.now.date()


@pytest.fixture
def seeded(merchant, other_merchant, today):
    for shop in (merchant, other_merchant):
        build_day(shop)
        jobs.metrics_compute(days=[DAY])
        PushRolloutFactory(merchant=shop, stage=PushRollout.Stage.FOLLOWERS, sent=10, opened=4)
    return merchant


@pytest.mark.parametrize("name", list(CHARTS))
def test_each_chart_draws_the_merchants_own_numbers(seeded, merchant, name, django_assert_max_num_queries):
    client = staff_client(merchant)

    with django_assert_max_num_queries(CHART_QUERIES):
        response = client.get(url(name))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merchant"] == merchant.slug and body["title"]
    assert body["empty"] is False, body


def test_the_charts_hold_the_figures_of_the_daily_rows(seeded, merchant):
    client = staff_client(merchant)
    get = lambda name: client.get(url(name)).json()["data"]  # noqa: E731

    ratio = get("iron-fan-ratio")
    assert ratio["labels"][-1] == DAY.isoformat()
    assert ratio["series"][0]["label"].startswith(f"@{merchant.slug}-brand")  # the brand first
    assert ratio["series"][0]["data"][-1] == round(3 / 10, 4)
    assert ratio["series"][-1]["label"] == "all accounts"
    assert ratio["series"][-1]["data"][-1] == round(5 / 15, 4)
    board = get("koe-leaderboard")["rows"]
    assert [(r["handle"], r["fans"], r["iron_fans"]) for r in board] == [(f"{merchant.slug}-koe", 5, 2)]
    assert get("tiers") == {
        "date": DAY.isoformat(),
        "labels": ["Fan", "Gold", "(no tier)"],
        "members": [0, 1, 1],
    }
    assert get("repurchase")["latest"] == 0.5
    funnel = get("coupon-funnel")
    assert funnel["templates"] == [{"name": "Ten off", "issued": 2, "redeemed": 1, "expired": 1, "rate": 0.5}]
    assert [c["issued"] for c in funnel["campaigns"]] == [2]
    points = get("points")
    assert (points["outstanding"][-1], points["expiring_30d"][-1]) == (110, 40)
    weekly = get("members-weekly")
    assert weekly["members"][-1] == 2 and sum(weekly["joins"]) == 1
    rollouts = get("rollouts")["rows"]
    assert [(r["stage"], r["open_rate"]) for r in rollouts] == [("followers", 0.4)]


@pytest.mark.parametrize("name", list(CHARTS))
def test_a_year_of_daily_rows_costs_no_more_queries(merchant, today, name, django_assert_max_num_queries):
    build_day(merchant)
    jobs.metrics_compute(days=[DAY])
    build_history(merchant, days=366)
    client = staff_client(merchant)

    with django_assert_max_num_queries(CHART_QUERIES):
        response = client.get(url(name))

    assert response.status_code == 200


@pytest.mark.parametrize("name", list(CHARTS))
def test_staff_cannot_read_another_merchants_chart(seeded, merchant, other_merchant, name):
    client = staff_client(merchant)

    assert client.get(url(name, other_merchant)).status_code == 404
    assert client.get(url(name, merchant)).status_code == 200  # naming their own is fine


def test_a_staff_user_of_no_merchant_and_an_anonymous_visitor_get_no_chart(seeded):
    orphan = Client()
    orphan.force_login(UserFactory(is_staff=True))

    assert orphan.get(url("points")).status_code == 404
    assert Client().get(url("points")).status_code == 302  # to the login page
    assert staff_client(seeded).get(url("no-such-chart")).status_code == 404


def test_a_superuser_picks_the_merchant(seeded, other_merchant):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get(url("points")).status_code == 404  # no pick yet
    body = client.get(url("points", other_merchant)).json()
    assert body["merchant"] == other_merchant.slug and body["data"]["outstanding"][-1] == 110


@pytest.mark.parametrize("name", list(CHARTS))
def test_a_merchant_with_nothing_yet_sees_what_to_do(merchant, today, name):
    body = staff_client(merchant).get(url(name)).json()

    assert body["empty"] is True
    assert "/api/v1/merchant/" in body["empty_hint"] or "manage.py" in body["empty_hint"]


def test_the_index_is_the_dashboard_for_staff(seeded, merchant, django_assert_max_num_queries):
    client = staff_client(merchant)

    with django_assert_max_num_queries(INDEX_QUERIES):
        response = client.get("/admin/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Dashboard — {merchant.name}" in html
    for name in CHARTS:
        assert f'data-url="/admin/dashboard/charts/{name}/"' in html
    assert "dashboard/vendor/chartjs/chart.umd.min.js" in html
    assert 'id="dashboard-picker"' not in html


def test_the_index_offers_superusers_a_merchant_picker(seeded, merchant, other_merchant):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    plain = client.get("/admin/").content.decode()
    picked = client.get("/admin/", {"merchant": other_merchant.slug}).content.decode()

    assert 'id="dashboard-picker"' in plain and "data-chart=" not in plain
    assert f"Dashboard — {other_merchant.name}" in picked
    assert f"/admin/dashboard/charts/points/?merchant={other_merchant.slug}" in picked


def test_staff_naming_another_merchant_on_the_index_get_their_plain_index(seeded, other_merchant):
    staff = MerchantStaffFactory(merchant=seeded)
    client = Client()
    client.force_login(staff.user)

    html = client.get("/admin/", {"merchant": other_merchant.slug}).content.decode()

    assert other_merchant.name not in html and "data-chart=" not in html
