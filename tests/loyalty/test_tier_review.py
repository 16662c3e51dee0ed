"""Tiers move both ways: an order's upgrade, the nightly review one tier down, history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from coupons.models import Coupon
from loyalty.models import TierChange, TierReward
from loyalty.services.purchases import purchase_record
from loyalty.services.tiers import tier_change_manual, tier_review
from members.errors import TierNotFound
from members.models import Membership
from tests.clock import T0
from tests.coupons.factories import CouponTemplateFactory
from tests.loyalty.conftest import order_input
from tests.members.factories import MerchantStaffFactory, TierFactory

DAY = timedelta(days=1)


@pytest.fixture
def tiers(merchant, program):
    return {
        "bronze": TierFactory(merchant=merchant, name="Bronze", rank=1, min_spend_12m=0),
        "silver": TierFactory(merchant=merchant, name="Silver", rank=2, min_spend_12m=Decimal("100")),
        "gold": TierFactory(merchant=merchant, name="Gold", rank=3, min_spend_12m=Decimal("1000")),
    }


def buy(shopper, merchant, external_id, amount, paid_at=None):
    """An order of ``amount`` (a multiple of 10) of S0."""
    lines = [("S0", int(amount // 10), "10.00")]
    return purchase_record(
        merchant=merchant, order=order_input(shopper.external_id, external_id, lines=lines, paid_at=paid_at)
    )


def tier_of(membership) -> str | None:
    membership.refresh_from_db()
    return membership.tier.name if membership.tier else None


def history(membership) -> list[tuple]:
    return [
        (c.from_tier.name if c.from_tier else None, c.to_tier.name if c.to_tier else None, c.reason)
        for c in TierChange.objects.filter(membership=membership).order_by("at", "id")
    ]


def test_an_order_that_reaches_a_tier_records_the_upgrade_in_the_history(
    clock, tiers, member, shopper, merchant
):
    buy(shopper, merchant, "o-1", 1200)

    assert tier_of(member) == "Gold"
    assert member.tier_since == T0
    assert history(member) == [("Bronze", "Gold", "upgrade")]


def test_the_review_moves_a_member_whose_spend_lapsed_one_tier_down_at_a_time(
    clock, tiers, member, shopper, merchant
):
    # given: Gold reached with an order 340 days old; the grace period (30 days) passes
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    assert tier_of(member) == "Gold"

    # when: the review runs 31 days on, when the order has left the 12-month window
    clock.now = T0 + 31 * DAY
    first = tier_review()

    # then: one tier down, not straight to Bronze
    assert (first.moved, tier_of(member)) == (1, "Silver")
    assert member.tier_since == clock.now
    # and the next night, within Silver's grace period, nothing moves
    clock.now += DAY
    assert tier_review().moved == 0
    # and after Silver's grace period it moves on, then stops at the entry tier
    clock.now += 31 * DAY
    assert tier_review().moved == 1
    clock.now += 31 * DAY
    assert tier_review().moved == 0
    assert tier_of(member) == "Bronze"
    assert history(member) == [
        ("Bronze", "Gold", "upgrade"),
        ("Gold", "Silver", "review"),
        ("Silver", "Bronze", "review"),
    ]


@pytest.mark.parametrize(("days", "tier"), [(29, "Gold"), (30, "Gold"), (31, "Silver")])
def test_no_downgrade_within_the_grace_period_after_reaching_a_tier(
    clock, tiers, member, shopper, merchant, days, tier
):
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)

    clock.now = T0 + days * DAY
    tier_review()

    assert tier_of(member) == tier


def test_the_grace_period_is_the_programs(clock, tiers, member, shopper, merchant, program):
    program.tier_grace_days = 0
    program.save()
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 364 * DAY)

    clock.now = T0 + 2 * DAY
    tier_review()

    assert tier_of(member) == "Silver"


def test_a_member_whose_spend_still_reaches_the_tier_stays(clock, tiers, member, shopper, merchant):
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    clock.now = T0 + 20 * DAY
    buy(shopper, merchant, "o-2", 1000)

    clock.now = T0 + 60 * DAY
    assert tier_review().moved == 0
    assert tier_of(member) == "Gold"


def test_the_review_run_twice_the_same_night_moves_once(clock, tiers, member, shopper, merchant, program):
    # grace 0: only the day of the move keeps a second run from moving the member again
    program.tier_grace_days = 0
    program.save()
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 364 * DAY)
    clock.now = T0 + 2 * DAY

    assert [tier_review().moved, tier_review().moved] == [1, 0]
    assert tier_of(member) == "Silver"
    assert TierChange.objects.filter(reason="review").count() == 1


def test_the_lowest_tier_that_needs_spend_falls_out_of_the_tiers(clock, merchant, program, member, shopper):
    silver = TierFactory(merchant=merchant, name="Silver", rank=2, min_spend_12m=Decimal("100"))
    buy(shopper, merchant, "o-1", 200, paid_at=T0 - 340 * DAY)
    assert tier_of(member) == "Silver"

    clock.now = T0 + 31 * DAY
    tier_review()

    assert tier_of(member) is None
    assert history(member)[-1] == ("Silver", None, "review")
    assert silver.pk  # the tier stays; the member left it


def test_the_review_leaves_former_members_and_other_merchants_alone(clock, tiers, member, shopper, merchant):
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    Membership.objects.filter(pk=member.pk).update(status="left")

    clock.now = T0 + 60 * DAY
    assert tier_review().moved == 0
    assert tier_of(member) == "Gold"


def test_the_command_reviews_one_merchant(clock, tiers, member, shopper, merchant, other_merchant, capsys):
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    clock.now = T0 + 60 * DAY

    call_command("review_tiers", "--merchant", other_merchant.slug)
    assert tier_of(member) == "Gold"
    call_command("review_tiers", "--merchant", merchant.slug)
    assert tier_of(member) == "Silver"
    assert "moved 1 one tier down" in capsys.readouterr().out


def test_the_nightly_task_runs_the_review(clock, tiers, member, shopper, merchant):
    from loyalty.tasks import review_tiers

    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    clock.now = T0 + 60 * DAY

    assert review_tiers() == {"members": 1, "moved": 1}


# --- upgrade rewards ---------------------------------------------------------------


@pytest.fixture
def gold_reward(tiers, merchant):
    template = CouponTemplateFactory(merchant=merchant, name="Welcome to Gold", per_member_limit=5)
    return TierReward.objects.create(tier=tiers["gold"], template=template)


def test_reaching_a_tier_with_a_reward_issues_its_coupon_once(clock, gold_reward, member, shopper, merchant):
    buy(shopper, merchant, "o-1", 1200)

    coupon = Coupon.objects.get(shopper=shopper, template=gold_reward.template)
    assert coupon.source == "tier"
    assert TierChange.objects.get(reason="upgrade").coupon == coupon


def test_falling_and_climbing_back_within_a_year_issues_no_second_reward(
    clock, gold_reward, tiers, member, shopper, merchant
):
    buy(shopper, merchant, "o-1", 1200, paid_at=T0 - 340 * DAY)
    clock.now = T0 + 31 * DAY
    tier_review()
    assert tier_of(member) == "Silver"

    buy(shopper, merchant, "o-2", 1200)

    assert tier_of(member) == "Gold"
    assert Coupon.objects.filter(template=gold_reward.template).count() == 1


def test_climbing_back_after_a_year_earns_the_reward_again(
    clock, gold_reward, tiers, member, shopper, merchant
):
    buy(shopper, merchant, "o-1", 1200)
    tier_change_manual(membership=member, to_tier=tiers["silver"])
    clock.now = T0 + 366 * DAY

    buy(shopper, merchant, "o-2", 1200)

    assert Coupon.objects.filter(template=gold_reward.template).count() == 2


def test_a_reward_that_cannot_be_issued_does_not_stop_the_order(
    clock, gold_reward, member, shopper, merchant
):
    gold_reward.template.active = False
    gold_reward.template.save()

    result = buy(shopper, merchant, "o-1", 1200)

    assert result.created
    assert tier_of(member) == "Gold"
    assert not Coupon.objects.filter(template=gold_reward.template).exists()
    assert TierChange.objects.get().coupon is None


def test_a_manual_change_is_recorded_with_who_and_why(clock, tiers, member, merchant):
    staff_user = MerchantStaffFactory(merchant=merchant).user
    change = tier_change_manual(membership=member, to_tier=tiers["gold"], by=staff_user, note="VIP")

    assert tier_of(member) == "Gold"
    assert (change.reason, change.created_by, change.note) == ("manual", staff_user, "VIP")
    assert tier_change_manual(membership=member, to_tier=tiers["gold"]) is None


def test_a_manual_change_to_another_merchants_tier_is_refused_and_writes_nothing(
    clock, tiers, member, other_merchant
):
    foreign = TierFactory(merchant=other_merchant, name="Gold", rank=3)

    with pytest.raises(TierNotFound):
        tier_change_manual(membership=member, to_tier=foreign)

    assert tier_of(member) == "Bronze"
    assert not TierChange.objects.exists()


def test_the_member_list_shows_when_the_member_reached_their_tier(
    clock, tiers, member, shopper, merchant, merchant_api
):
    buy(shopper, merchant, "o-1", 1200)

    row = merchant_api.get("/api/v1/merchant/members").json()["results"][0]

    assert (row["tier"], row["tier_since"]) == ("Gold", "2026-03-02T12:00:00Z")


def test_staff_move_a_member_by_hand_in_the_admin_and_see_the_history(clock, tiers, member, merchant):
    from tests.conftest import staff_client

    browser = staff_client(merchant)
    response = browser.post(
        "/admin/loyalty/tierchange/add/",
        {"membership": member.pk, "to_tier": tiers["gold"].pk, "note": "ambassador"},
    )

    assert response.status_code == 302, response.content
    assert tier_of(member) == "Gold"
    change = TierChange.objects.get()
    assert (change.reason, change.note, change.created_by.merchant_staff.merchant) == (
        "manual",
        "ambassador",
        merchant,
    )
    listing = browser.get("/admin/loyalty/tierchange/")
    assert listing.status_code == 200
    assert b"Gold" in listing.content


def test_staff_cannot_move_a_member_to_another_merchants_tier(clock, tiers, member, merchant, other_merchant):
    from tests.conftest import staff_client

    foreign = TierFactory(merchant=other_merchant, name="Gold", rank=3)
    response = staff_client(merchant).post(
        "/admin/loyalty/tierchange/add/", {"membership": member.pk, "to_tier": foreign.pk, "note": ""}
    )

    assert response.status_code == 200  # the form again, with the error
    assert tier_of(member) == "Bronze"
    assert not TierChange.objects.exists()
