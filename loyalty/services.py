"""Orchestration at the top of the layers: one transaction across the apps.

Lower layers never call upward; flows that touch several apps start here. Today a
join is the members app's alone; the join bonus (ledger) and join coupon (coupons)
are added here as those features land, inside the same transaction.
"""

from django.db import transaction

from members import services as members_services
from members.models import Merchant, Shopper
from members.services import JoinResult


@transaction.atomic
def merchant_onboard(*, slug: str, name: str, key_name: str = "shop system") -> tuple[Merchant, str]:
    """A new merchant ready to integrate: its brand account and a first API key."""
    merchant = members_services.merchant_create(slug=slug, name=name)
    _, key = members_services.merchant_api_key_create(merchant=merchant, name=key_name)
    return merchant, key


@transaction.atomic
def membership_enrol(*, shopper: Shopper, merchant: Merchant) -> JoinResult:
    return members_services.membership_join(shopper=shopper, merchant=merchant)
