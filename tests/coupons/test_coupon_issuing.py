"""coupons.services.issuing: the one way a coupon comes to be (stock, limit, members only)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coupons import errors
from coupons.models import CODE_ALPHABET, CODE_LENGTH, Coupon
from coupons.services.issuing import coupon_code_new, coupon_issue, coupon_issue_to_shopper
from members.models import Membership
from tests.conftest import row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import MembershipFactory, ShopperFactory


def test_codes_are_twelve_characters_of_the_unambiguous_alphabet():
    codes = {coupon_code_new() for _ in range(2000)}

    assert len(codes) == 2000
    assert all(len(code) == CODE_LENGTH == 12 for code in codes)
    assert set("".join(codes)) <= set(CODE_ALPHABET)
    assert len(CODE_ALPHABET) == 32
    assert not set("".join(codes)) & set("01OI")


def test_issuing_writes_an_issued_coupon_valid_for_the_templates_days(template, membership, shopper):
    now = timezone.now()

    coupon = coupon_issue_to_shopper(template=template, shopper=shopper, source="manual", now=now)

    stored = Coupon.objects.get(pk=coupon.pk)
    assert (stored.code, stored.template, stored.merchant, stored.shopper) == (
        coupon.code,
        template,
        template.merchant,
        shopper,
    )
    assert (stored.state, stored.source, stored.issued_at) == ("issued", "manual", now)
    assert stored.expires_at == now + timedelta(days=30)
    assert stored.valid_from is None and stored.redeemed_at is None and stored.order is None
    template.refresh_from_db()
    assert template.issued_count == 1


def test_a_window_template_gives_its_window(merchant, membership, shopper):
    now = timezone.now()
    starts, ends = now + timedelta(days=2), now + timedelta(days=9)
    window = CouponTemplateFactory(merchant=merchant, valid_days=None, valid_from=starts, valid_until=ends)

    coupon = coupon_issue_to_shopper(template=window, shopper=shopper, now=now)

    coupon.refresh_from_db()
    assert (coupon.valid_from, coupon.expires_at) == (starts, ends)


def test_a_template_whose_window_is_over_issues_nothing(merchant, membership, shopper):
    now = timezone.now()
    past = CouponTemplateFactory(merchant=merchant, valid_days=None, valid_until=now + timedelta(hours=1))
    before = row_counts()

    with pytest.raises(errors.CouponExpired):
        coupon_issue_to_shopper(template=past, shopper=shopper, now=now + timedelta(hours=2))

    assert row_counts() == before


def test_stock_runs_out_after_the_last_unit(merchant):
    template = CouponTemplateFactory(merchant=merchant, stock=2)
    members = [MembershipFactory(merchant=merchant) for _ in range(3)]
    for membership in members[:2]:
        coupon_issue_to_shopper(template=template, shopper=membership.shopper)
    before = row_counts()

    with pytest.raises(errors.CouponOutOfStock) as caught:
        coupon_issue_to_shopper(template=template, shopper=members[2].shopper)

    assert caught.value.code == "coupon_out_of_stock"
    assert row_counts() == before
    template.refresh_from_db()
    assert template.issued_count == 2


def test_per_member_limit_counts_unused_coupons_and_gives_the_stock_unit_back(merchant, membership, shopper):
    template = CouponTemplateFactory(merchant=merchant, per_member_limit=2, stock=10)
    coupon_issue_to_shopper(template=template, shopper=shopper)
    coupon_issue_to_shopper(template=template, shopper=shopper)
    before = row_counts()

    with pytest.raises(errors.CouponLimitReached) as caught:
        coupon_issue_to_shopper(template=template, shopper=shopper)

    assert caught.value.code == "coupon_limit_reached"
    assert row_counts() == before
    template.refresh_from_db()
    assert template.issued_count == 2


@pytest.mark.parametrize(
    "used",
    [
        {"state": Coupon.State.REDEEMED, "redeemed_at": timezone.now()},
        {"state": Coupon.State.EXPIRED},
        {"state": Coupon.State.VOID},
        {"expires_at": timezone.now() - timedelta(seconds=1)},  # issued, past its date
    ],
    ids=["redeemed", "expired", "void", "past-its-date"],
)
def test_coupons_no_longer_usable_do_not_count_towards_the_limit(template, membership, shopper, used):
    CouponFactory(template=template, shopper=shopper, **used)

    coupon = coupon_issue_to_shopper(template=template, shopper=shopper)

    assert coupon.pk is not None


def test_the_limit_is_per_template_and_per_shopper(merchant, template, membership, shopper):
    CouponFactory(template=template, shopper=shopper)
    other_template = CouponTemplateFactory(merchant=merchant)
    other_member = MembershipFactory(merchant=merchant)

    coupon_issue_to_shopper(template=other_template, shopper=shopper)
    coupon_issue_to_shopper(template=template, shopper=other_member.shopper)

    assert Coupon.objects.count() == 3


def test_a_non_member_gets_nothing(template, shopper):
    before = row_counts()

    with pytest.raises(errors.NotAMember) as caught:
        coupon_issue_to_shopper(template=template, shopper=shopper)

    assert caught.value.code == "not_a_member"
    assert row_counts() == before


def test_a_former_member_gets_nothing(template, membership, shopper):
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.LEFT)

    with pytest.raises(errors.NotAMember):
        coupon_issue_to_shopper(template=template, shopper=shopper)

    assert not Coupon.objects.exists()


def test_a_member_of_another_merchant_gets_nothing(template, other_merchant):
    stranger = ShopperFactory()
    MembershipFactory(merchant=other_merchant, shopper=stranger)

    with pytest.raises(errors.NotAMember):
        coupon_issue_to_shopper(template=template, shopper=stranger)

    template.refresh_from_db()
    assert template.issued_count == 0


def test_coupon_issue_refuses_a_template_of_another_merchant(template, other_merchant):
    elsewhere = MembershipFactory(merchant=other_merchant)

    with pytest.raises(errors.TemplateNotFound):
        coupon_issue(
            template=template, merchant_id=other_merchant.pk, shopper_id=elsewhere.shopper_id, source="manual"
        )

    assert not Coupon.objects.exists()
    template.refresh_from_db()
    assert template.issued_count == 0


def test_coupon_issue_reaches_a_shopper_who_never_joined(template):
    stranger = ShopperFactory()

    coupon = coupon_issue(
        template=template, merchant_id=template.merchant_id, shopper_id=stranger.pk, source="campaign"
    )

    assert (coupon.shopper_id, coupon.state) == (stranger.pk, "issued")
    assert list(Coupon.objects.values_list("shopper_id", flat=True)) == [stranger.pk]


def test_an_inactive_template_issues_nothing(merchant, membership, shopper):
    off = CouponTemplateFactory(merchant=merchant, active=False)

    with pytest.raises(errors.TemplateInactive):
        coupon_issue_to_shopper(template=off, shopper=shopper)

    assert not Coupon.objects.exists()
