"""Issuing under real concurrency (PostgreSQL, committed transactions, row locks):
a stock is never exceeded, nor a per-shopper limit, member or not."""

import pytest
from django.db import transaction

from coupons import errors
from coupons.models import Coupon
from coupons.services.issuing import coupon_issue, coupon_issue_to_shopper
from tests.conftest import requires_postgres
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MembershipFactory, MerchantFactory, ShopperFactory
from tests.threads import all_at_once

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def issue(template, shopper):
    return lambda: coupon_issue_to_shopper(template=template, shopper=shopper)


def test_twenty_members_racing_for_a_stock_of_five_get_exactly_five():
    merchant = MerchantFactory()
    template = CouponTemplateFactory(merchant=merchant, stock=5)
    shoppers = [MembershipFactory(merchant=merchant).shopper for _ in range(20)]

    results = all_at_once([issue(template, shopper) for shopper in shoppers])

    issued = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if not isinstance(r, Coupon)]
    assert len(issued) == 5
    assert all(isinstance(r, errors.CouponOutOfStock) for r in refused), refused
    assert Coupon.objects.filter(template=template).count() == 5
    assert len({c.shopper_id for c in Coupon.objects.filter(template=template)}) == 5
    template.refresh_from_db()
    assert template.issued_count == 5


def test_ten_issues_at_once_to_one_member_stop_at_the_limit_of_two():
    merchant = MerchantFactory()
    template = CouponTemplateFactory(merchant=merchant, per_member_limit=2, stock=100)
    shopper = MembershipFactory(merchant=merchant).shopper

    results = all_at_once([issue(template, shopper) for _ in range(10)])

    issued = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if not isinstance(r, Coupon)]
    assert len(issued) == 2
    assert all(isinstance(r, errors.CouponLimitReached) for r in refused), refused
    assert Coupon.objects.filter(template=template, shopper=shopper).count() == 2
    template.refresh_from_db()
    assert template.issued_count == 2  # the refused ones gave their unit of stock back


def issue_to_holder(template, shopper):
    """One issue in its own transaction to a shopper who may never have joined."""

    def call():
        with transaction.atomic():
            return coupon_issue(
                template=template, merchant_id=template.merchant_id, shopper_id=shopper.pk, source="campaign"
            )

    return call


def test_ten_issues_at_once_to_a_shopper_who_never_joined_stop_at_the_limit_of_two():
    template = CouponTemplateFactory(per_member_limit=2, stock=100)
    stranger = ShopperFactory()

    results = all_at_once([issue_to_holder(template, stranger) for _ in range(10)])

    issued = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if not isinstance(r, Coupon)]
    assert len(issued) == 2
    assert all(isinstance(r, errors.CouponLimitReached) for r in refused), refused
    assert Coupon.objects.filter(template=template, shopper=stranger).count() == 2
    template.refresh_from_db()
    assert template.issued_count == 2


def test_members_and_non_members_racing_for_a_stock_of_five_get_exactly_five():
    merchant = MerchantFactory()
    template = CouponTemplateFactory(merchant=merchant, stock=5)
    shoppers = [MembershipFactory(merchant=merchant).shopper for _ in range(10)]
    shoppers += [ShopperFactory() for _ in range(10)]

    results = all_at_once([issue_to_holder(template, shopper) for shopper in shoppers])

    assert len([r for r in results if isinstance(r, Coupon)]) == 5
    assert Coupon.objects.filter(template=template).count() == 5
    template.refresh_from_db()
    assert template.issued_count == 5
