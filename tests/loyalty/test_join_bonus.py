"""The join bonus: paid on a shopper's first join of a merchant, never again."""

from datetime import timedelta

import pytest

from loyalty.models import PointsEntry
from loyalty.services.memberships import membership_enrol
from members.models import Membership
from tests.loyalty.conftest import points_account

MEMBERSHIPS = "/api/v1/me/memberships"


@pytest.fixture
def bonus_program(program):
    program.join_bonus_points = 100
    program.points_expiry_days = 30
    program.save()
    return program


def join(client, merchant):
    return client.post(MEMBERSHIPS, {"merchant": merchant.slug}, format="json")


def leave(client, merchant):
    return client.delete(f"{MEMBERSHIPS}/{merchant.slug}")


def test_first_join_pays_the_bonus_as_a_lot_that_expires(shopper_api, shopper, merchant, bonus_program):
    response = join(shopper_api, merchant)

    assert response.status_code == 201
    account = points_account(Membership.objects.get(shopper=shopper, merchant=merchant))
    assert (account.balance, account.lifetime_earned) == (100, 100)
    bonus = PointsEntry.objects.get(account=account)
    assert (bonus.kind, bonus.delta, bonus.remaining, bonus.reason) == ("bonus", 100, 100, "join bonus")
    assert bonus.expires_at - bonus.created_at == timedelta(days=30)


def test_the_bonus_is_paid_once_even_after_leaving_and_rejoining(
    shopper_api, shopper, merchant, bonus_program
):
    join(shopper_api, merchant)
    leave(shopper_api, merchant)

    again = join(shopper_api, merchant)
    join(shopper_api, merchant)

    assert again.status_code == 201
    account = points_account(Membership.objects.get(shopper=shopper, merchant=merchant))
    assert account.balance == 100
    assert PointsEntry.objects.filter(account=account, kind="bonus").count() == 1


def test_a_bonus_raised_after_joining_is_not_paid_on_a_rejoin(shopper_api, shopper, merchant, program):
    join(shopper_api, merchant)
    leave(shopper_api, merchant)
    program.join_bonus_points = 500
    program.save()

    join(shopper_api, merchant)

    assert not PointsEntry.objects.exists()


def test_no_bonus_entry_when_the_program_has_none(shopper_api, merchant, program):
    join(shopper_api, merchant)

    assert not PointsEntry.objects.exists()


def test_each_merchant_pays_its_own_bonus(shopper, merchant, bonus_program, other_merchant):
    from tests.loyalty.factories import ProgramFactory

    ProgramFactory(merchant=other_merchant, join_bonus_points=7)

    ours = membership_enrol(shopper=shopper, merchant=merchant).membership
    theirs = membership_enrol(shopper=shopper, merchant=other_merchant).membership

    assert (points_account(ours).balance, points_account(theirs).balance) == (100, 7)
