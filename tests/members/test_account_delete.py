"""Deleting an account (a KOE's or the brand's) leaves no stale iron-fan flag.

The account's follows go with it; a member who was its iron fan and is an iron fan of
no other account of the merchant stops being one (``Membership.iron_fan``, the member
list's ``iron_fan=true``). Every way an account goes away takes ``account_delete``:
the service, and in the admin the delete view, the change list's bulk delete and the
merchant page's inline of accounts.
"""

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members import services as members_services
from members.engagement import jobs
from members.models import Account, Follow, Membership, Merchant
from tests.conftest import requires_postgres, row_counts, staff_client
from tests.members.factories import (
    AccountFactory,
    FanPolicyFactory,
    FollowFactory,
    MembershipFactory,
    UserFactory,
)
from tests.members.test_iron_fan_flags import all_flags_match_the_follows, flag
from tests.threads import all_at_once


@pytest.fixture
def fans(merchant):
    """A KOE account to delete and another account of the merchant, with three members:
    an iron fan of the KOE only, an iron fan of both, a plain fan of the KOE."""
    koe, other = AccountFactory(merchant=merchant), AccountFactory(merchant=merchant)
    only, both, plain = (MembershipFactory(merchant=merchant) for _ in range(3))
    FollowFactory(account=koe, shopper=only.shopper, score=90.0, iron_fan=True)
    FollowFactory(account=koe, shopper=both.shopper, score=90.0, iron_fan=True)
    FollowFactory(account=other, shopper=both.shopper, score=90.0, iron_fan=True)
    FollowFactory(account=koe, shopper=plain.shopper, score=5.0)
    assert (flag(only), flag(both), flag(plain)) == (True, True, False)
    return koe, other, only, both, plain


def iron_fan_members(merchant) -> set[int]:
    """The memberships the member list shows under ``?iron_fan=true``."""
    active = Membership.objects.filter(merchant=merchant, status=Membership.Status.ACTIVE, iron_fan=True)
    return set(active.values_list("pk", flat=True))


def assert_only_the_koes_iron_fan_lost_the_flag(merchant, fans) -> None:
    koe, _, only, both, plain = fans
    assert not Account.objects.filter(pk=koe.pk).exists()
    assert not Follow.objects.filter(account_id=koe.pk).exists()
    assert (flag(only), flag(both), flag(plain)) == (False, True, False)
    assert iron_fan_members(merchant) == {both.pk}
    assert all_flags_match_the_follows()


def test_deleting_an_account_clears_the_flag_of_its_iron_fans_only(merchant, fans):
    koe, *_ = fans

    members_services.account_delete(account=koe)

    assert_only_the_koes_iron_fan_lost_the_flag(merchant, fans)


def test_another_merchants_membership_of_the_same_shopper_is_left_alone(merchant, other_merchant, fans):
    # Given the KOE's iron fan is also an iron fan, and member, of another merchant
    koe, _, only, _, _ = fans
    FollowFactory(account=AccountFactory(merchant=other_merchant), shopper=only.shopper, iron_fan=True)
    elsewhere = MembershipFactory(merchant=other_merchant, shopper=only.shopper)
    assert flag(elsewhere) is True

    members_services.account_delete(account=koe)

    assert (flag(only), flag(elsewhere)) == (False, True)


def test_deleting_an_account_without_iron_fans_writes_no_membership(merchant, fans):
    # Given an account whose only fan is not an iron fan
    *_, plain = fans
    quiet = AccountFactory(merchant=merchant)
    FollowFactory(account=quiet, shopper=plain.shopper)

    with CaptureQueriesContext(connection) as captured:
        members_services.account_delete(account=quiet)

    # Then no membership is updated
    assert not [q for q in captured if q["sql"].startswith("UPDATE") and "members_membership" in q["sql"]]
    assert all_flags_match_the_follows()


def admin_url(model, view: str, obj=None) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
    return reverse(name, args=[] if obj is None else [quote(obj.pk)])


def superuser_client() -> Client:
    # Merchant staff may not delete an account with fans from its own page: the follows
    # are read-only for them (FollowAdmin), so the admin asks for a permission they lack.
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_delete_view_clears_the_flags(merchant, fans):
    koe, *_ = fans

    response = superuser_client().post(admin_url(Account, "delete", koe), {"post": "yes"})

    assert response.status_code == 302
    assert_only_the_koes_iron_fan_lost_the_flag(merchant, fans)


def test_the_admin_bulk_delete_action_clears_the_flags(merchant, fans):
    koe, *_ = fans

    response = superuser_client().post(
        admin_url(Account, "changelist"),
        {"action": "delete_selected", "_selected_action": [koe.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert_only_the_koes_iron_fan_lost_the_flag(merchant, fans)


def merchant_page_data(client, merchant, *, delete: Account | None) -> dict:
    """The merchant change form as the page renders it, the inline's rows unchanged but
    ``delete`` ticked."""
    page = client.get(admin_url(Merchant, "change", merchant))
    assert page.status_code == 200
    data = {"name": merchant.name}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = "" if value is None else str(value)
        for form in formset.forms:
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is None or name == "DELETE":
                    continue
                data[form.add_prefix(name)] = getattr(value, "pk", value)
            if delete is not None and form.instance.pk == delete.pk:
                data[form.add_prefix("DELETE")] = "on"
    return data


def test_deleting_an_account_from_the_merchant_pages_inline_clears_the_flags(merchant, fans):
    koe, *_ = fans
    client = staff_client(merchant)
    data = merchant_page_data(client, merchant, delete=koe)

    response = client.post(admin_url(Merchant, "change", merchant), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert_only_the_koes_iron_fan_lost_the_flag(merchant, fans)


def test_a_refused_inline_delete_writes_nothing(merchant, fans):
    # Given the merchant page posted with the KOE ticked for deletion but an invalid row beside it
    koe, other, *_ = fans
    client = staff_client(merchant)
    data = merchant_page_data(client, merchant, delete=koe)
    other_id = next(key for key, value in data.items() if key.endswith("-id") and value == other.pk)
    data[other_id.removesuffix("id") + "handle"] = "not a handle!"
    before = row_counts()

    response = client.post(admin_url(Merchant, "change", merchant), data)

    # Then the form comes back with the error, and the account, its follows and the flags stay
    assert response.status_code == 200
    assert row_counts() == before
    assert Account.objects.filter(pk=koe.pk).exists()
    _, _, only, both, _ = fans
    assert (flag(only), flag(both)) == (True, True)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_while_the_recompute_runs_leaves_every_flag_right(merchant, monkeypatch):
    # Given members who follow two accounts of the merchant: the KOE about to be deleted,
    # on which they are rising (the recompute will promote them), and another account on
    # which some are fading iron fans; the recompute's ranges are small
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 5)
    FanPolicyFactory(
        merchant=merchant, promote_at=40, demote_below=25, half_life_days=3650, min_active_days=0
    )
    koe, other = AccountFactory(merchant=merchant), AccountFactory(merchant=merchant)
    members = [MembershipFactory(merchant=merchant) for _ in range(12)]
    for i, m in enumerate(members):
        FollowFactory(account=koe, shopper=m.shopper, score=90.0, iron_fan=i % 2 == 0)
        FollowFactory(account=other, shopper=m.shopper, score=1.0 if i % 3 else 90.0, iron_fan=i % 3 == 0)

    # When the account is deleted while two recomputes run
    results = all_at_once(
        [lambda: members_services.account_delete(account=koe)]
        + [lambda: jobs.iron_fans_recompute(merchant=merchant, now=timezone.now())] * 2
    )

    # Then nothing failed (no deadlock), the account is gone, and every flag matches the follows
    assert not [r for r in results if isinstance(r, Exception)], results
    assert not Account.objects.filter(pk=koe.pk).exists()
    assert all_flags_match_the_follows()
