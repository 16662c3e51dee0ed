"""The wallet's answer, built directly from its statement, is what ``WalletMembershipOutput``
made of the ORM's models: same keys, values, types and order, byte for byte."""

import json
from datetime import timedelta

import pytest
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from coupons import selectors as coupon_selectors
from coupons.models import Coupon
from loyalty.apis.shopper import WalletMembershipOutput
from loyalty.models import PointsEntry
from loyalty.selectors import EXPIRING_SOON_DAYS
from members import services as members_services
from members.models import Membership
from tests.coupons.factories import CouponFactory
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import PointsEntryFactory
from tests.loyalty.test_wallet_api import WALLET, join
from tests.members.factories import (
    AccountFactory,
    FollowFactory,
    MembershipFactory,
    MerchantFactory,
    ShopperFactory,
    TierFactory,
)

DAY = timedelta(days=1)


def orm_wallet(shopper, now):
    """The wallet as the ORM read it before it was written out: the reference."""
    by = now + timedelta(days=EXPIRING_SOON_DAYS)
    lots = PointsEntry.objects.filter(
        remaining__gt=0, expires_at__isnull=False, expires_at__lte=by, account__membership_id=OuterRef("pk")
    )
    total = lots.order_by().values("account_id").annotate(n=Sum("remaining")).values("n")
    memberships = list(
        Membership.objects.filter(shopper=shopper, status=Membership.Status.ACTIVE)
        .select_related("merchant", "tier")
        .annotate(
            points_balance=Coalesce("points_account__balance", 0),
            points_expiring_soon=Coalesce(Subquery(total), 0),
            points_expiring_next_at=Subquery(lots.order_by("expires_at").values("expires_at")[:1]),
            is_iron_fan=F("iron_fan"),
        )
        .order_by("merchant__name", "id")
    )
    usable = Coupon.objects.filter(coupon_selectors.usable_q(now), shopper=shopper)
    counts = {row["merchant_id"]: row["n"] for row in usable.values("merchant_id").annotate(n=Count("id"))}
    for membership in memberships:
        membership.usable_coupons = counts.get(membership.merchant_id, 0)
    return memberships


def lot(membership, points, expires_in, *, remaining=None):
    now = timezone.now()
    return PointsEntryFactory(
        account=points_account(membership),
        delta=points,
        remaining=points if remaining is None else remaining,
        kind="earn",
        expires_at=None if expires_in is None else now + expires_in,
        created_at=now - DAY,
    )


@pytest.mark.parametrize("zone", ["UTC", "Asia/Taipei"])
def test_the_wallet_answer_is_what_the_serializer_made(shopper_api, shopper, zone):
    # a card with a tier, expiring points (two lots soon, one later, one spent, one
    # without a date), coupons of every kind, iron fan
    tiered = MerchantFactory(name="Bravo Beauty")
    tier = TierFactory(merchant=tiered, name="Silver", rank=1, min_spend_12m=0)
    card = join(shopper, tiered, points=300)
    Membership.objects.filter(pk=card.pk).update(tier=tier)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=tiered), iron_fan=True)
    lot(card, 100, 3 * DAY + timedelta(microseconds=123456))
    lot(card, 40, 20 * DAY)
    lot(card, 70, 45 * DAY)
    lot(card, 10, 2 * DAY, remaining=0)
    lot(card, 5, None)
    for _ in range(2):
        CouponFactory(template__merchant=tiered, shopper=shopper)
    CouponFactory(template__merchant=tiered, shopper=shopper, state="redeemed", redeemed_at=timezone.now())
    CouponFactory(template__merchant=tiered, shopper=shopper, expires_at=timezone.now() - DAY)
    CouponFactory(template__merchant=tiered, shopper=shopper, valid_from=timezone.now() + DAY)
    CouponFactory(template__merchant=tiered, shopper=shopper, valid_from=timezone.now() - DAY)
    CouponFactory(template__merchant=tiered, shopper=ShopperFactory())
    # a card without a tier, points, coupons or iron-fan flag (a follow that is not iron)
    plain = MerchantFactory(name="Alpha Apparel")
    join(shopper, plain)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=plain), iron_fan=False)
    # a card from before the ledger (no points account), and a card left
    MembershipFactory(shopper=shopper, merchant=MerchantFactory(name="Charlie Cafe"))
    left = MerchantFactory(name="Delta Deli")
    join(shopper, left, points=9)
    members_services.membership_leave(shopper=shopper, merchant=left)
    # another shopper's card at the same merchant
    join(ShopperFactory(), tiered, points=77)

    with timezone.override(zone):
        response = shopper_api.get(WALLET)
        expected = JSONRenderer().render(
            {"memberships": WalletMembershipOutput(orm_wallet(shopper, timezone.now()), many=True).data}
        )

    assert response.status_code == 200, response.content
    assert json.dumps(response.json()) == json.dumps(json.loads(expected))
    cards = response.json()["memberships"]
    assert [(c["merchant"]["name"], c["tier"], c["iron_fan"]) for c in cards] == [
        ("Alpha Apparel", None, False),
        ("Bravo Beauty", "Silver", True),
        ("Charlie Cafe", None, False),
    ]
    bravo = cards[1]
    assert (bravo["points_expiring_soon"], bravo["usable_coupons"]) == (140, 3)
    assert bravo["points_expiring_next_at"].endswith("Z" if zone == "UTC" else "+08:00")
    assert (cards[0]["points_expiring_soon"], cards[0]["points_expiring_next_at"]) == (0, None)


def test_an_empty_wallet_is_what_the_serializer_made(shopper_api, shopper):
    assert shopper_api.get(WALLET).json() == {"memberships": []}
