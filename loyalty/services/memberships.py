"""Onboarding a merchant and joining a membership: flows across the apps."""

import contextlib

from django.db import transaction
from django.utils import timezone

from coupons.errors import NOT_ISSUABLE
from coupons.models import Coupon
from coupons.services.issuing import coupon_issue
from loyalty.models import PointsAccount, Program
from loyalty.services.points import points_join_bonus_locked
from members import services as members_services
from members.models import Membership, Merchant, Shopper
from members.services import JoinResult
from storefront.selectors import shopper_first_order_at


def program_get_or_create(*, merchant_id: int) -> Program:
    program, _ = Program.objects.get_or_create(merchant_id=merchant_id)
    return program


@transaction.atomic
def merchant_onboard(*, slug: str, name: str, key_name: str = "shop system") -> tuple[Merchant, str]:
    """A new merchant ready to integrate: brand account, loyalty program and a first API key."""
    merchant = members_services.merchant_create(slug=slug, name=name)
    Program.objects.create(merchant=merchant)
    _, key = members_services.merchant_api_key_create(merchant=merchant, name=key_name)
    return merchant, key


@transaction.atomic
def membership_enrol(*, shopper: Shopper, merchant: Merchant) -> JoinResult:
    """Join (or rejoin) a membership, open its points account and pay the join bonus once."""
    result = members_services.membership_join(shopper=shopper, merchant=merchant)
    if result.joined:
        account = points_account_open(membership=result.membership)
        if result.first_time:
            now = timezone.now()
            program = program_get_or_create(merchant_id=merchant.pk)
            points_join_bonus_locked(account=account, program=program, now=now)
            _join_coupon(program=program, membership=result.membership, now=now)
    return result


def points_account_open(*, membership: Membership) -> PointsAccount:
    """The membership's points account, opened on first need.

    A new account starts with the shopper's first order with the merchant, if they
    bought before joining: that order (member or not) was the one that earned the
    repurchase coupon, and the first order as a member must not earn a second.
    """
    account, created = PointsAccount.objects.get_or_create(membership=membership)
    if created:
        first = shopper_first_order_at(merchant_id=membership.merchant_id, shopper_id=membership.shopper_id)
        if first is not None:
            account.first_order_at = first
            account.save(update_fields=["first_order_at"])
    return account


def _join_coupon(*, program: Program, membership: Membership, now) -> None:
    """The welcome coupon of a first join; none when the template is out of stock or off."""
    if program.join_coupon_template is None:
        return
    with contextlib.suppress(*NOT_ISSUABLE):
        coupon_issue(
            template=program.join_coupon_template,
            merchant_id=membership.merchant_id,
            shopper_id=membership.shopper_id,
            source=Coupon.Source.JOIN,
            now=now,
        )
