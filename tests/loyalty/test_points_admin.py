"""Points adjustments by merchant staff in the admin: audited ledger entries with a reason.

Listing and 404s across merchants are covered for every admin by tests/test_admin_tenancy.py.
"""

import pytest
from django.urls import reverse

from loyalty import admin as loyalty_admin
from loyalty.errors import InsufficientPoints
from loyalty.models import PointsEntry
from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_adjust
from tests.conftest import row_counts
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import MerchantStaffFactory, ShopperFactory

ADD_ENTRY = reverse("admin:loyalty_pointsentry_add")


@pytest.fixture
def account(member):
    account = points_account(member)
    points_adjust(account=account, delta=10, reason="opening balance")
    return account


@pytest.fixture
def staff(merchant):
    return MerchantStaffFactory(merchant=merchant).user


@pytest.fixture
def staff_browser(client, staff):
    client.force_login(staff)
    return client


def test_the_add_form_offers_the_merchants_own_accounts(staff_browser, account):
    response = staff_browser.get(ADD_ENTRY)

    assert response.status_code == 200
    choices = response.context["adminform"].form.fields["account"].queryset
    assert list(choices) == [account]


def test_staff_adjust_a_members_points_with_a_reason(staff_browser, staff, account):
    response = staff_browser.post(ADD_ENTRY, {"account": account.pk, "delta": 15, "reason": "goodwill"})

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = PointsEntry.objects.get(reason="goodwill")
    assert (entry.kind, entry.delta, entry.remaining, entry.created_by) == ("adjust", 15, 15, staff)
    account.refresh_from_db()
    assert account.balance == 25


def test_a_negative_adjustment_spends_points(staff_browser, account):
    staff_browser.post(ADD_ENTRY, {"account": account.pk, "delta": -4, "reason": "duplicate bonus"})

    account.refresh_from_db()
    assert account.balance == 6
    assert PointsEntry.objects.get(reason="duplicate bonus").delta == -4


def test_a_negative_adjustment_beyond_the_balance_is_a_form_error_and_writes_nothing(staff_browser, account):
    before = row_counts()

    response = staff_browser.post(ADD_ENTRY, {"account": account.pk, "delta": -11, "reason": "too much"})

    assert response.status_code == 200
    assert "cannot go below zero" in str(response.context["adminform"].form.non_field_errors())
    assert row_counts() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [({"delta": 0, "reason": "nothing"}, "delta"), ({"delta": 5, "reason": "   "}, "reason")],
    ids=["zero", "no reason"],
)
def test_an_adjustment_needs_points_and_a_reason(staff_browser, account, data, field):
    before = row_counts()

    response = staff_browser.post(ADD_ENTRY, {"account": account.pk, **data})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert row_counts() == before


def test_staff_of_another_merchant_cannot_pick_the_account(client, account, other_merchant):
    client.force_login(MerchantStaffFactory(merchant=other_merchant).user)
    before = row_counts()

    page = client.get(ADD_ENTRY)
    response = client.post(ADD_ENTRY, {"account": account.pk, "delta": 50, "reason": "stolen"})

    assert account not in page.context["adminform"].form.fields["account"].queryset
    assert response.status_code == 200
    assert "account" in response.context["adminform"].form.errors
    assert row_counts() == before


def test_staff_of_another_merchant_find_no_account_by_autocomplete(client, account, other_merchant):
    client.force_login(MerchantStaffFactory(merchant=other_merchant).user)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "loyalty", "model_name": "pointsentry", "field_name": "account", "term": ""},
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_ledger_entries_cannot_be_edited_or_deleted(staff_browser, account):
    entry = PointsEntry.objects.get(account=account)
    change = reverse("admin:loyalty_pointsentry_change", args=[entry.pk])
    delete = reverse("admin:loyalty_pointsentry_delete", args=[entry.pk])

    staff_browser.post(change, {"account": account.pk, "delta": 999, "reason": "edited"})
    staff_browser.post(delete, {"post": "yes"})

    entry.refresh_from_db()
    assert (entry.delta, entry.reason) == (10, "opening balance")


# An inline is asked about its *parent* (the points account), not about its own rows:
# the ledger must show whatever the ids of the entries are.
def test_the_points_account_page_shows_the_ledger_read_only(
    staff_browser, merchant, program, shopper, other_merchant
):
    # given: our member's two entries, with ids that are not our account's id (ids that
    # line up would hide the bug: SQLite restarts them in every test, PostgreSQL may too)
    ProgramFactory(merchant=other_merchant)
    stranger = points_account(membership_enrol(shopper=ShopperFactory(), merchant=other_merchant).membership)
    account = points_account(membership_enrol(shopper=shopper, merchant=merchant).membership)
    last = points_adjust(account=stranger, delta=3, reason="theirs")
    while account.pk in (last.pk + 1, last.pk + 2):
        last = points_adjust(account=stranger, delta=3, reason="theirs")
    points_adjust(account=account, delta=10, reason="opening balance")
    points_adjust(account=account, delta=1, reason="second lot")

    response = staff_browser.get(reverse("admin:loyalty_pointsaccount_change", args=[account.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "opening balance" in page and "second lot" in page
    assert "theirs" not in page


def test_an_adjustment_that_loses_a_race_for_the_points_is_a_message_not_an_error(
    staff_browser, account, monkeypatch
):
    # given: the form sees enough points, but they are spent before the locked adjustment
    def spent_meanwhile(**kwargs):
        raise InsufficientPoints("This needs 4 points; the balance is 0.")

    monkeypatch.setattr(loyalty_admin, "points_adjust", spent_meanwhile)
    before = row_counts()

    response = staff_browser.post(ADD_ENTRY, {"account": account.pk, "delta": -4, "reason": "correction"})

    # then: back to the form with the reason shown, and nothing written
    assert response.status_code == 302
    assert ADD_ENTRY in response["Location"]
    assert row_counts() == before
