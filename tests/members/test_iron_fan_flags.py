"""The membership's iron-fan flag stays in step with the follows' status.

``Membership.iron_fan`` is true when the shopper is an iron fan of at least one of
the merchant's accounts. Every write of that status keeps it: the recompute's
promotions and demotions, an unfollow, a join; a rerun changes nothing.
"""

from datetime import UTC, datetime, timedelta

import pytest

from members import services as members_services
from members.engagement import jobs
from members.fan_counts import fan_counts_recount
from members.iron_fan_flags import IS_IRON_FAN, iron_fan_flags_sync
from members.models import Follow, Membership
from tests.conftest import requires_postgres
from tests.members.factories import (
    AccountFactory,
    FanPolicyFactory,
    FollowFactory,
    MembershipFactory,
    ShopperFactory,
)
from tests.threads import all_at_once

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def account(merchant):
    # promote at 40, demote below 25, no decay to speak of, activity days off
    FanPolicyFactory(
        merchant=merchant, promote_at=40, demote_below=25, half_life_days=3650, min_active_days=0
    )
    return AccountFactory(merchant=merchant)


def follow(account, shopper, *, score: float, iron: bool = False) -> Follow:
    return FollowFactory(
        account=account,
        shopper=shopper,
        score=score,
        score_at=NOW,
        iron_fan=iron,
        iron_fan_since=NOW - timedelta(days=3) if iron else None,
    )


def flag(membership: Membership) -> bool:
    return Membership.objects.get(pk=membership.pk).iron_fan


def all_flags_match_the_follows() -> bool:
    """No membership anywhere whose flag disagrees with its follows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM members_membership WHERE iron_fan <> {IS_IRON_FAN}")
        return cursor.fetchone()[0] == 0


def test_a_promotion_flags_the_membership_and_a_demotion_clears_it(merchant, account):
    # Given a member whose score reaches promote_at, and a member iron fan who fell below demote_below
    rising, falling = MembershipFactory(merchant=merchant), MembershipFactory(merchant=merchant)
    follow(account, rising.shopper, score=90.0)
    follow(account, falling.shopper, score=1.0, iron=True)
    assert (flag(rising), flag(falling)) == (False, True)

    # When the hourly recompute runs
    result = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    # Then their memberships' flags follow their new status
    assert (result.promoted, result.demoted) == (1, 1)
    assert (flag(rising), flag(falling)) == (True, False)
    assert all_flags_match_the_follows()


def test_an_iron_fan_of_another_account_of_the_merchant_stays_flagged_when_demoted_on_one(merchant, account):
    # Given a member who is an iron fan of two of the merchant's accounts, one of them fading
    member = MembershipFactory(merchant=merchant)
    follow(account, member.shopper, score=1.0, iron=True)
    follow(AccountFactory(merchant=merchant), member.shopper, score=90.0, iron=True)

    # When the recompute demotes the faded one
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    # Then the member is still an iron fan of the merchant
    assert flag(member) is True
    assert all_flags_match_the_follows()


def test_a_rerun_writes_no_membership(merchant, account, django_assert_num_queries):
    # Given a recompute that has promoted a member
    member = MembershipFactory(merchant=merchant)
    follow(account, member.shopper, score=90.0)
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    # When it runs again at the same moment
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        again = jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    # Then nothing changes and no membership is written (nor even locked)
    assert (again.promoted, again.demoted) == (0, 0)
    assert flag(member) is True
    assert not [q for q in captured if "members_membership" in q["sql"] and "UPDATE" in q["sql"]]
    assert not [q for q in captured if "FOR UPDATE" in q["sql"] and "members_membership" in q["sql"]]


def test_the_flag_is_per_merchant(merchant, other_merchant, account):
    # Given a shopper who is a member of two merchants and an iron fan of the first's account only
    shopper = ShopperFactory()
    mine = MembershipFactory(merchant=merchant, shopper=shopper)
    theirs = MembershipFactory(merchant=other_merchant, shopper=shopper)
    follow(account, shopper, score=90.0)

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert (flag(mine), flag(theirs)) == (True, False)


def test_unfollowing_the_only_iron_fan_account_clears_the_flag(merchant, account):
    member = MembershipFactory(merchant=merchant)
    follow(account, member.shopper, score=90.0, iron=True)
    assert flag(member) is True

    members_services.follow_delete(shopper=member.shopper, handle=account.handle)

    assert flag(member) is False
    assert all_flags_match_the_follows()


def test_unfollowing_one_of_two_iron_fan_accounts_keeps_the_flag(merchant, account):
    member = MembershipFactory(merchant=merchant)
    follow(account, member.shopper, score=90.0, iron=True)
    follow(AccountFactory(merchant=merchant), member.shopper, score=90.0, iron=True)

    members_services.follow_delete(shopper=member.shopper, handle=account.handle)

    assert flag(member) is True


def test_an_iron_fan_who_joins_or_rejoins_is_flagged_at_once(merchant, account):
    # Given an iron fan of the merchant's account who is not a member yet
    shopper = ShopperFactory()
    follow(account, shopper, score=90.0, iron=True)

    # When they join, leave and join again
    joined = members_services.membership_join(shopper=shopper, merchant=merchant).membership
    assert flag(joined) is True
    members_services.membership_leave(shopper=shopper, merchant=merchant)
    Follow.objects.filter(shopper=shopper).update(iron_fan=False)  # demoted while away
    fan_counts_recount(account_ids=[account.pk])
    iron_fan_flags_sync(merchant_id=merchant.pk, shopper_ids=[shopper.pk])
    members_services.membership_join(shopper=shopper, merchant=merchant)

    # Then the flag is the status at each join
    assert flag(joined) is False
    assert all_flags_match_the_follows()


def test_the_sync_writes_only_the_memberships_that_disagree(merchant, account):
    member = MembershipFactory(merchant=merchant)
    follow(account, member.shopper, score=90.0, iron=True)

    assert iron_fan_flags_sync(merchant_id=merchant.pk, shopper_ids=[member.shopper_id]) == 0
    Membership.objects.filter(pk=member.pk).update(iron_fan=False)  # drifted, e.g. by hand
    assert iron_fan_flags_sync(merchant_id=merchant.pk, shopper_ids=None) == 1
    assert flag(member) is True


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_ranges_recomputed_at_once_and_unfollows_leave_every_flag_right(merchant, account, monkeypatch):
    # Given members, each following two of the merchant's accounts, whose follows fall in
    # different id ranges: one follow rises, the other fades; and some unfollowing meanwhile
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 5)
    other = AccountFactory(merchant=merchant)
    members = [MembershipFactory(merchant=merchant) for _ in range(12)]
    for m in members:
        follow(account, m.shopper, score=90.0)
    for m in members:
        follow(other, m.shopper, score=1.0, iron=True)
    leaving = members[:4]

    # When two recomputes and the unfollows run at the same moment
    calls = [lambda: jobs.iron_fans_recompute(merchant=merchant, now=NOW)] * 2 + [
        lambda m=m: members_services.follow_delete(shopper=m.shopper, handle=account.handle) for m in leaving
    ]
    results = all_at_once(calls)

    # Then nothing failed (no deadlock), and every membership's flag matches its follows
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all_flags_match_the_follows()
    assert {m.pk for m in members if flag(m)} == {
        m.pk for m in members if Follow.objects.filter(shopper=m.shopper, iron_fan=True).exists()
    }
