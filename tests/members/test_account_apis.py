"""POST and GET /api/v1/merchant/accounts: a merchant's brand and employee (KOE) accounts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Account
from tests.conftest import assert_error, row_counts
from tests.members.factories import AccountFactory

ACCOUNTS = "/api/v1/merchant/accounts"

# The API key with its merchant, then one page of accounts.
ACCOUNT_LIST_QUERIES = 2


def test_merchant_creates_an_employee_account(merchant_api, merchant):
    response = merchant_api.post(
        ACCOUNTS, {"handle": "lin", "kind": "koe", "display_name": "Lin"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("handle", "kind", "display_name")} == {
        "handle": "lin",
        "kind": "koe",
        "display_name": "Lin",
    }
    assert body["created_at"]
    account = Account.objects.get(handle="lin")
    assert account.merchant == merchant


def test_merchant_creates_its_brand_account(merchant_api, merchant):
    response = merchant_api.post(
        ACCOUNTS, {"handle": "acme", "kind": "brand", "display_name": "Acme"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Account.objects.get(merchant=merchant, kind="brand").handle == "acme"


@pytest.mark.parametrize("owner", ["same", "other"])
def test_a_taken_handle_is_409_and_writes_nothing(merchant_api, merchant, other_merchant, owner):
    # Handles are global: another merchant's account holds it as much as one's own.
    AccountFactory(handle="popular", merchant=merchant if owner == "same" else other_merchant)
    before = row_counts()

    response = merchant_api.post(
        ACCOUNTS, {"handle": "popular", "kind": "koe", "display_name": "Copy"}, format="json"
    )

    assert_error(response, 409, "account_handle_taken")
    assert row_counts() == before


def test_a_second_brand_account_is_409_and_writes_nothing(merchant_api, merchant):
    AccountFactory(merchant=merchant, kind=Account.Kind.BRAND, handle="first-brand")
    before = row_counts()

    response = merchant_api.post(
        ACCOUNTS, {"handle": "second-brand", "kind": "brand", "display_name": "Again"}, format="json"
    )

    assert_error(response, 409, "brand_account_exists")
    assert row_counts() == before


def test_another_merchants_brand_account_does_not_block_ones_own(merchant_api, other_merchant):
    AccountFactory(merchant=other_merchant, kind=Account.Kind.BRAND)

    response = merchant_api.post(
        ACCOUNTS, {"handle": "mine", "kind": "brand", "display_name": "Mine"}, format="json"
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"handle": "Upper", "kind": "koe", "display_name": "X"}, "handle"),
        ({"handle": "has space", "kind": "koe", "display_name": "X"}, "handle"),
        ({"handle": "x", "kind": "koe", "display_name": "X"}, "handle"),
        ({"handle": "a" * 51, "kind": "koe", "display_name": "X"}, "handle"),
        ({"handle": "-dash-first", "kind": "koe", "display_name": "X"}, "handle"),
        ({"kind": "koe", "display_name": "X"}, "handle"),
        ({"handle": "fine", "kind": "influencer", "display_name": "X"}, "kind"),
        ({"handle": "fine", "kind": "koe"}, "display_name"),
    ],
    ids=["uppercase", "space", "too-short", "too-long", "leading-dash", "missing", "bad-kind", "no-name"],
)
def test_a_malformed_account_is_400_and_writes_nothing(merchant_api, body, attr):
    before = row_counts()

    response = merchant_api.post(ACCOUNTS, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert attr in [e["attr"] for e in response.json()["errors"]]
    assert row_counts() == before


def test_account_list_shows_the_merchants_accounts_by_handle(merchant_api, merchant):
    AccountFactory(merchant=merchant, handle="zed")
    AccountFactory(merchant=merchant, handle="amy")

    response = merchant_api.get(ACCOUNTS)

    assert response.status_code == 200
    assert response.json()["next"] is None
    assert [a["handle"] for a in response.json()["results"]] == ["amy", "zed"]


def test_account_list_never_shows_another_merchants_accounts(merchant_api, merchant, other_merchant):
    AccountFactory(merchant=merchant, handle="ours")
    AccountFactory(merchant=other_merchant, handle="theirs")

    handles = [a["handle"] for a in merchant_api.get(ACCOUNTS).json()["results"]]

    assert handles == ["ours"]


def test_an_account_created_by_one_merchant_is_invisible_to_another(merchant_api, other_merchant_api):
    merchant_api.post(ACCOUNTS, {"handle": "private", "kind": "koe", "display_name": "P"}, format="json")

    assert other_merchant_api.get(ACCOUNTS).json()["results"] == []


def test_account_list_query_count_does_not_grow_with_accounts(
    merchant_api, merchant, django_assert_max_num_queries
):
    AccountFactory.create_batch(3, merchant=merchant)
    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES), CaptureQueriesContext(connection) as few:
        assert len(merchant_api.get(ACCOUNTS).json()["results"]) == 3

    AccountFactory.create_batch(20, merchant=merchant)
    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES), CaptureQueriesContext(connection) as many:
        assert len(merchant_api.get(ACCOUNTS).json()["results"]) == 23

    assert len(many) == len(few)


def test_a_forged_cursor_is_400_on_the_cursor(merchant_api, merchant):
    AccountFactory(merchant=merchant)

    assert_error(merchant_api.get(ACCOUNTS, {"cursor": "not-a-cursor"}), 400, "invalid_cursor", "cursor")
