"""Each account's fans and iron fans, kept as follows change (``members.fan_counts``).

Every write that makes, ends or promotes a follow moves the counts in its own
transaction, so the counts kept are always what counting the follows gives: after each
kind of write, after a refused one, and after many at the same moment (PostgreSQL, real
threads). A recount repairs counts that drifted, exactly, even while fans follow.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from members import errors
from members import services as members_services
from members.engagement import jobs
from members.engagement.models import EngagementScore
from members.fan_counts import fan_counts_move, fan_counts_recount, merchant_fan_counts_recount
from members.models import Account, AccountFanCount, Follow, Shopper
from tests.conftest import requires_postgres, row_counts, staff_client
from tests.members.factories import (
    AccountFactory,
    FanPolicyFactory,
    FollowFactory,
    MembershipFactory,
    ShopperFactory,
)
from tests.members.test_account_delete import admin_url, superuser_client
from tests.threads import all_at_once, each_at_once


def counted(account: Account) -> tuple[int, int]:
    """The account's fans and iron fans, counted from its follows: what the kept counts must be."""
    follows = Follow.objects.filter(account_id=account.pk)
    return follows.count(), follows.filter(iron_fan=True).count()


def kept(account: Account) -> tuple[int, int]:
    row = AccountFanCount.objects.filter(account_id=account.pk).first()
    return (0, 0) if row is None else (row.fans, row.iron_fans)


def assert_every_count_matches_the_follows() -> None:
    for account in Account.objects.order_by("pk"):
        assert kept(account) == counted(account), account.handle


def policy(merchant) -> None:
    """Promote at 40, demote below 25; scores that barely decay, no activity days needed."""
    FanPolicyFactory(
        merchant=merchant, promote_at=40, demote_below=25, half_life_days=3650, min_active_days=0
    )


@pytest.fixture
def koe(merchant):
    return AccountFactory(merchant=merchant, handle="lin")


# --- Follows and unfollows ---------------------------------------------------------------


def test_a_follow_counts_one_fan_and_following_again_counts_none(koe):
    shopper = ShopperFactory()

    members_services.follow_create(shopper=shopper, handle="lin")
    members_services.follow_create(shopper=shopper, handle="lin")
    members_services.follow_create(shopper=ShopperFactory(), handle="lin")

    assert kept(koe) == (2, 0)


def test_following_an_unknown_account_writes_nothing(koe):
    shopper = ShopperFactory()
    before = row_counts()

    with pytest.raises(errors.AccountNotFound):
        members_services.follow_create(shopper=shopper, handle="nobody")

    assert row_counts() == before


def test_an_unfollow_counts_one_fan_less_and_an_iron_fans_one_iron_fan_less(koe):
    plain, iron = FollowFactory(account=koe), FollowFactory(account=koe, score=90.0, iron_fan=True)
    FollowFactory(account=koe)
    assert kept(koe) == (3, 1)

    members_services.follow_delete(shopper=plain.shopper, handle="lin")
    assert kept(koe) == (2, 1)
    members_services.follow_delete(shopper=iron.shopper, handle="lin")
    assert kept(koe) == (1, 0)


def test_unfollowing_an_account_not_followed_moves_nothing(koe):
    FollowFactory(account=koe)

    members_services.follow_delete(shopper=ShopperFactory(), handle="lin")

    assert kept(koe) == (1, 0)


def test_the_counts_of_the_merchants_other_accounts_do_not_move(merchant, other_merchant, koe):
    mine, theirs = AccountFactory(merchant=merchant), AccountFactory(merchant=other_merchant)
    FollowFactory(account=mine, iron_fan=True)
    FollowFactory(account=theirs)
    shopper = FollowFactory(account=koe).shopper

    members_services.follow_create(shopper=shopper, handle=mine.handle)
    members_services.follow_delete(shopper=shopper, handle="lin")

    assert (kept(koe), kept(mine), kept(theirs)) == ((0, 0), (2, 1), (1, 0))


# --- The hourly recompute ----------------------------------------------------------------


def test_the_recompute_moves_each_accounts_iron_fans_by_its_promotions_and_demotions(merchant, koe):
    # Given two accounts: on the KOE two fans rising and an iron fan fading; on the
    # brand one rising fan and one iron fan holding
    FanPolicyFactory(
        merchant=merchant, promote_at=40, demote_below=25, half_life_days=3650, min_active_days=0
    )
    brand = AccountFactory(merchant=merchant)
    now = timezone.now()
    for account, scores in (
        (koe, [(90, False), (60, False), (5, True), (1, False)]),
        (brand, [(70, False), (50, True)]),
    ):
        for score, iron in scores:
            FollowFactory(account=account, score=score, score_at=now, iron_fan=iron)
    assert (kept(koe), kept(brand)) == ((4, 1), (2, 1))

    result = jobs.iron_fans_recompute(merchant=merchant, now=now)
    again = jobs.iron_fans_recompute(merchant=merchant, now=now)

    # Then the KOE has two iron fans (two up, one down), the brand two (one up), and a
    # second run moves nothing
    assert (result.promoted, result.demoted, again.promoted, again.demoted) == (3, 1, 0, 0)
    assert (kept(koe), kept(brand)) == ((4, 2), (2, 2))
    assert_every_count_matches_the_follows()


# --- Deletions ---------------------------------------------------------------------------


def test_an_accounts_deletion_takes_its_counts_and_leaves_the_others(merchant, koe):
    other = AccountFactory(merchant=merchant)
    shopper = FollowFactory(account=koe, iron_fan=True).shopper
    FollowFactory(account=other, shopper=shopper, iron_fan=True)

    members_services.account_delete(account=koe)

    assert not AccountFanCount.objects.filter(account_id=koe.pk).exists()
    assert kept(other) == (1, 1)


def test_a_shoppers_deletion_counts_each_of_their_follows_out(merchant, other_merchant, koe):
    # Given a member who follows the KOE (an iron fan) and another merchant's account
    theirs = AccountFactory(merchant=other_merchant)
    member = MembershipFactory(merchant=merchant)
    FollowFactory(account=koe, shopper=member.shopper, score=90.0, iron_fan=True)
    FollowFactory(account=theirs, shopper=member.shopper)
    FollowFactory(account=koe)

    members_services.shopper_delete(shopper=member.shopper)

    assert not Shopper.objects.filter(pk=member.shopper_id).exists()
    assert (kept(koe), kept(theirs)) == ((1, 0), (0, 0))
    assert_every_count_matches_the_follows()


@pytest.fixture
def superuser(db) -> Client:
    return superuser_client()


def test_a_superusers_deletion_of_a_follow_in_the_admin_is_an_unfollow(superuser, koe):
    # Given an iron fan and a fan, each with a score
    iron = FollowFactory(account=koe, score=90.0, score_at=timezone.now(), iron_fan=True)
    plain = FollowFactory(account=koe, score=3.0, score_at=timezone.now())
    FollowFactory(account=koe)

    # When a superuser deletes one from its page and the other from the list
    deleted = superuser.post(admin_url(Follow, "delete", iron), {"post": "yes"})
    bulk = superuser.post(
        admin_url(Follow, "changelist"),
        {"action": "delete_selected", "_selected_action": [plain.pk], "post": "yes"},
    )

    # Then each went as an unfollow does: counted out, its score left waiting for a follow again
    assert (deleted.status_code, bulk.status_code) == (302, 302)
    assert kept(koe) == (1, 0)
    assert EngagementScore.objects.filter(account=koe).count() == 2
    assert_every_count_matches_the_follows()


def test_nobody_adds_a_follow_in_the_admin_not_even_a_superuser(superuser, koe):
    shopper = ShopperFactory()
    before = row_counts()

    page = superuser.get(admin_url(Follow, "add"))
    posted = superuser.post(admin_url(Follow, "add"), {"shopper": shopper.pk, "account": koe.pk})

    assert (page.status_code, posted.status_code) == (403, 403)
    assert row_counts() == before


def test_a_superusers_deletion_of_a_shopper_in_the_admin_counts_their_follows_out(superuser, koe):
    gone, bulk_gone = FollowFactory(account=koe, iron_fan=True), FollowFactory(account=koe)
    FollowFactory(account=koe)

    deleted = superuser.post(admin_url(Shopper, "delete", gone.shopper), {"post": "yes"})
    bulk = superuser.post(
        admin_url(Shopper, "changelist"),
        {"action": "delete_selected", "_selected_action": [bulk_gone.shopper_id], "post": "yes"},
    )

    assert (deleted.status_code, bulk.status_code) == (302, 302)
    assert kept(koe) == (1, 0)
    assert_every_count_matches_the_follows()


def test_the_merchants_account_list_in_the_admin_shows_the_kept_counts(merchant, koe):
    FollowFactory.create_batch(3, account=koe)
    FollowFactory(account=koe, iron_fan=True)

    page = staff_client(merchant).get(admin_url(Account, "changelist"))

    assert page.status_code == 200
    row = next(r for r in page.context["cl"].result_list if r.pk == koe.pk)
    assert (row.fans_count, row.iron_fans_count, row.ratio) == (4, 1, 0.25)


# --- The recount -------------------------------------------------------------------------


def test_a_recount_repairs_counts_that_drifted_and_says_how_many(merchant, koe):
    # Given a KOE whose counts drifted (follows loaded around the services), a brand with
    # right counts, and an account that never had a fan
    brand, quiet = AccountFactory(merchant=merchant), AccountFactory(merchant=merchant)
    Follow.objects.bulk_create(
        Follow(shopper=ShopperFactory(), account=koe, iron_fan=i == 0) for i in range(3)
    )
    FollowFactory(account=brand)
    assert kept(koe) == (0, 0)

    repaired = merchant_fan_counts_recount(merchant_id=merchant.pk)

    assert repaired == 1
    assert (kept(koe), kept(brand), kept(quiet)) == ((3, 1), (1, 0), (0, 0))
    assert merchant_fan_counts_recount(merchant_id=merchant.pk) == 0


def test_a_recount_of_no_account_writes_nothing(db):
    before = row_counts()

    assert fan_counts_recount(account_ids=[]) == 0
    assert row_counts() == before


def test_counts_that_would_go_below_zero_are_refused(koe):
    # A move is a delta on what is kept: one that would leave fewer than none, or more
    # iron fans than fans (counts that drifted), fails loudly instead of being clamped
    FollowFactory(account=koe)
    with pytest.raises(IntegrityError), transaction.atomic():
        fan_counts_move({koe.pk: (-2, 0)})
    with pytest.raises(IntegrityError), transaction.atomic():
        fan_counts_move({koe.pk: (0, 2)})
    with pytest.raises(IntegrityError), transaction.atomic():
        fan_counts_move({koe.pk: (-1, 1)})
    assert kept(koe) == (1, 0)


# --- At the same moment (PostgreSQL, real threads) ----------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_follows_unfollows_and_recomputes_at_once_leave_exact_counts(merchant):
    # Given a KOE with rising fans and fading iron fans, and shoppers about to follow
    FanPolicyFactory(
        merchant=merchant, promote_at=40, demote_below=25, half_life_days=3650, min_active_days=0
    )
    koe = AccountFactory(merchant=merchant, handle="lin")
    now = timezone.now()
    leaving = [FollowFactory(account=koe, score=90.0, score_at=now, iron_fan=i % 2 == 0) for i in range(8)]
    for i in range(8):
        FollowFactory(account=koe, score=90.0 if i % 2 else 1.0, score_at=now, iron_fan=i % 3 == 0)
    joining = [ShopperFactory() for _ in range(10)]

    # When they all follow, unfollow and the recompute runs twice, at once
    results = all_at_once(
        [lambda s=s: members_services.follow_create(shopper=s, handle="lin") for s in joining]
        + [lambda f=f: members_services.follow_delete(shopper=f.shopper, handle="lin") for f in leaving]
        + [lambda: jobs.iron_fans_recompute(merchant=merchant, now=now)] * 2
    )

    # Then nothing failed and the counts are the follows', iron fans included
    assert not [r for r in results if isinstance(r, Exception)], results
    assert kept(koe) == counted(koe)
    assert kept(koe)[0] == 18


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_recount_while_fans_follow_leaves_exact_counts(koe):
    # Given counts that drifted, and shoppers about to follow
    Follow.objects.bulk_create(Follow(shopper=ShopperFactory(), account=koe) for _ in range(5))
    joining = [ShopperFactory() for _ in range(12)]

    # When recounts run while they follow
    def work(i):
        if i % 4 == 0:
            return fan_counts_recount(account_ids=[koe.pk])
        return members_services.follow_create(shopper=joining[i], handle="lin")

    results = each_at_once(work, 12)

    # Then the counts are exact: none of the follows counted twice or missed
    assert not [r for r in results if isinstance(r, Exception)], results
    assert kept(koe) == counted(koe) == (14, 0)


def test_a_follow_made_in_a_refused_transaction_is_not_counted(koe):
    with pytest.raises(RuntimeError), transaction.atomic():
        members_services.follow_create(shopper=ShopperFactory(), handle="lin")
        raise RuntimeError("the caller's transaction fails after the follow")

    assert kept(koe) == (0, 0) == counted(koe)


def test_recount_fans_repairs_the_merchants_counts_and_says_how_many(merchant, other_merchant, koe):
    # Given the KOE's counts drifted, and another merchant's too
    theirs = AccountFactory(merchant=other_merchant)
    Follow.objects.bulk_create([Follow(shopper=ShopperFactory(), account=a) for a in (koe, theirs)])
    out = StringIO()

    call_command("recount_fans", "--merchant", merchant.slug, stdout=out)

    # Then only the merchant's are repaired, and an unknown merchant is an error
    assert out.getvalue() == f"{merchant.slug}: 1 account(s) repaired\n"
    assert (kept(koe), kept(theirs)) == ((1, 0), (0, 0))
    with pytest.raises(CommandError, match="No merchant"):
        call_command("recount_fans", "--merchant", "nobody", stdout=StringIO())
