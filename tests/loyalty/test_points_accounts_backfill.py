"""``open_points_accounts``: memberships from before the ledger get their points account."""

from datetime import timedelta

from django.core.management import call_command

from loyalty.models import PointsAccount
from loyalty.services.backfill import points_accounts_backfill
from tests.clock import T0
from tests.loyalty.factories import PointsAccountFactory
from tests.members.factories import MembershipFactory
from tests.storefront.factories import OrderFactory


def test_memberships_without_an_account_get_one_and_a_second_run_opens_none(clock, merchant, capsys):
    # given: two memberships from before the ledger (one bought before), one with an account
    bought = MembershipFactory(merchant=merchant)
    OrderFactory(merchant=merchant, shopper=bought.shopper, paid_at=T0 - timedelta(days=3))
    OrderFactory(merchant=merchant, shopper=bought.shopper, paid_at=T0 - timedelta(days=1))
    never = MembershipFactory(merchant=merchant)
    opened = PointsAccountFactory(balance=0)

    # when
    call_command("open_points_accounts")

    # then: each has one, starting at zero; the first order is remembered (no second
    # repurchase coupon for the next order)
    assert "Opened 2 points accounts." in capsys.readouterr().out
    accounts = {a.membership_id: a for a in PointsAccount.objects.all()}
    assert set(accounts) == {bought.pk, never.pk, opened.membership_id}
    assert accounts[bought.pk].first_order_at == T0 - timedelta(days=3)
    assert accounts[never.pk].first_order_at is None
    assert (accounts[never.pk].balance, accounts[never.pk].lifetime_earned) == (0, 0)
    assert points_accounts_backfill() == 0


def test_the_backfill_goes_in_chunks(merchant):
    memberships = [MembershipFactory(merchant=merchant) for _ in range(5)]

    assert points_accounts_backfill(batch=2) == 5
    assert PointsAccount.objects.filter(membership__in=memberships).count() == 5
