"""GET /api/v1/merchant/accounts with fans, iron fans and ratio, and
GET /api/v1/merchant/accounts/{handle}/stats: the daily series (the KOE leaderboard's data)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from rest_framework.renderers import JSONRenderer

from members.apis import AccountWithFansOutput
from members.models import Account, Follow
from tests.conftest import assert_error
from tests.members.factories import AccountDailyStatFactory, AccountFactory, FollowFactory

ACCOUNTS = "/api/v1/merchant/accounts"
# The API key with its merchant, then one page of accounts with their counts.
ACCOUNT_LIST_QUERIES = 2
# The API key, the account, one page of days.
STATS_QUERIES = 3


def follow_count(**filters) -> Coalesce:
    """For an account row: its follows (matching ``filters``) counted, not the kept counts."""
    counted = (
        Follow.objects.filter(account=OuterRef("pk"), **filters)
        .order_by()
        .values("account")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def stats_url(handle: str) -> str:
    return f"{ACCOUNTS}/{handle}/stats"


def test_each_account_shows_fans_iron_fans_and_ratio(merchant_api, merchant, other_merchant):
    lin, jo = AccountFactory(merchant=merchant, handle="lin"), AccountFactory(merchant=merchant, handle="jo")
    FollowFactory.create_batch(3, account=lin)
    FollowFactory.create_batch(1, account=lin, iron_fan=True)
    FollowFactory(account=AccountFactory(merchant=other_merchant), iron_fan=True)

    rows = {a["handle"]: a for a in merchant_api.get(ACCOUNTS).json()["results"]}

    assert {k: rows["lin"][k] for k in ("fans", "iron_fans", "iron_fan_ratio")} == {
        "fans": 4,
        "iron_fans": 1,
        "iron_fan_ratio": 0.25,
    }
    assert {k: rows[jo.handle][k] for k in ("fans", "iron_fans", "iron_fan_ratio")} == {
        "fans": 0,
        "iron_fans": 0,
        "iron_fan_ratio": 0.0,
    }


@pytest.mark.parametrize("accounts", [2, 20])
def test_the_account_list_keeps_its_query_budget(
    merchant_api, merchant, django_assert_max_num_queries, accounts
):
    for account in AccountFactory.create_batch(accounts, merchant=merchant):
        FollowFactory.create_batch(2, account=account, iron_fan=True)

    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES):
        assert len(merchant_api.get(ACCOUNTS).json()["results"]) == accounts


def test_the_account_list_walks_every_page_by_handle_forward_and_back(merchant_api, merchant, other_merchant):
    # given: accounts whose handles sort differently from their creation order
    for handle in ["mei", "ada", "zoe", "bo", "kai", "lin", "cy"]:
        AccountFactory(merchant=merchant, handle=handle)
    AccountFactory(merchant=other_merchant, handle="another")
    by_handle = [a.handle for a in Account.objects.for_merchant(merchant).order_by("handle")]

    # when: following every next link, then every previous link back
    pages = [merchant_api.get(ACCOUNTS, {"page_size": 3}).json()]
    while pages[-1]["next"]:
        pages.append(merchant_api.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(merchant_api.get(back[-1]["previous"]).json())

    # then: each of the merchant's accounts once, by handle, and the same pages on the way back
    assert [a["handle"] for page in pages for a in page["results"]] == by_handle
    assert len(pages) == 3
    assert [page["results"] for page in reversed(back)] == [page["results"] for page in pages]


def test_the_answer_built_directly_is_the_serializers_answer(merchant_api, merchant):
    # Given accounts with every kind of field: the brand and a KOE, with and without fans
    # and iron fans, a ratio that rounds, microseconds in the creation time
    lin = AccountFactory(merchant=merchant, handle="lin", kind="koe", display_name="Lin")
    AccountFactory(merchant=merchant, handle="brand", kind="brand", display_name="")
    FollowFactory.create_batch(2, account=lin)
    FollowFactory(account=lin, iron_fan=True)
    Account.objects.filter(pk=lin.pk).update(created_at=datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))

    response = merchant_api.get(ACCOUNTS)

    # Then the answer is, byte for byte, what AccountWithFansOutput makes of the ORM's models
    assert response.status_code == 200, response.content
    models = (
        Account.objects.for_merchant(merchant)
        .annotate(fans=follow_count(), iron_fans=follow_count(iron_fan=True))
        .order_by("handle")
    )
    expected = JSONRenderer().render(AccountWithFansOutput(models, many=True).data)
    assert json.dumps(response.json()["results"]) == json.dumps(json.loads(expected))
    assert [a["iron_fan_ratio"] for a in response.json()["results"]] == [0.0, 0.3333]


def test_stats_list_the_last_days_oldest_first(merchant_api, merchant):
    lin = AccountFactory(merchant=merchant, handle="lin")
    today = datetime.now(UTC).date()
    for days_ago, (fans, iron) in enumerate([(10, 5), (8, 2), (8, 1), (4, 0)]):
        AccountDailyStatFactory(account=lin, date=today - timedelta(days=days_ago), fans=fans, iron_fans=iron)
    AccountDailyStatFactory(account=lin, date=today - timedelta(days=40))

    response = merchant_api.get(stats_url("lin"), {"days": 3})

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"date": str(today - timedelta(days=2)), "fans": 8, "iron_fans": 1, "iron_fan_ratio": 0.125,
         "promoted": 0, "demoted": 0},
        {"date": str(today - timedelta(days=1)), "fans": 8, "iron_fans": 2, "iron_fan_ratio": 0.25,
         "promoted": 0, "demoted": 0},
        {"date": str(today), "fans": 10, "iron_fans": 5, "iron_fan_ratio": 0.5, "promoted": 0, "demoted": 0},
    ]  # fmt: skip


def test_stats_default_to_30_days(merchant_api, merchant):
    lin = AccountFactory(merchant=merchant, handle="lin")
    today = datetime.now(UTC).date()
    for days_ago in range(35):
        AccountDailyStatFactory(account=lin, date=today - timedelta(days=days_ago))

    response = merchant_api.get(stats_url("lin"), {"page_size": 200})

    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize("days", ["0", "367", "a month"])
def test_stats_with_a_bad_days_is_400(merchant_api, merchant, days):
    AccountFactory(merchant=merchant, handle="lin")

    response = merchant_api.get(stats_url("lin"), {"days": days})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "days"


def test_stats_of_another_merchants_account_are_404(merchant_api, other_merchant):
    theirs = AccountFactory(merchant=other_merchant, handle="theirs")
    AccountDailyStatFactory(account=theirs)

    assert_error(merchant_api.get(stats_url("theirs")), 404, "account_not_found")
    assert_error(merchant_api.get(stats_url("nobody")), 404, "account_not_found")


def test_stats_without_a_key_are_401(api, merchant):
    AccountFactory(merchant=merchant, handle="lin")

    assert_error(api.get(stats_url("lin")), 401, "not_authenticated")


@pytest.mark.parametrize("days", [3, 60])
def test_stats_keep_their_query_budget(merchant_api, merchant, django_assert_max_num_queries, days):
    lin = AccountFactory(merchant=merchant, handle="lin")
    today = datetime.now(UTC).date()
    for days_ago in range(days):
        AccountDailyStatFactory(account=lin, date=today - timedelta(days=days_ago))

    with django_assert_max_num_queries(STATS_QUERIES):
        assert len(merchant_api.get(stats_url("lin"), {"days": days}).json()["results"]) == min(days, 50)
