"""Writes of the members app, one module per concept (accounts, auth, follows,
memberships, shoppers, tiers, claims). The package re-exports them, so
``members.services.follow_create`` and ``from members import services`` keep working;
new code may import either. Claim codes are used through their module
(``members.services.claims``).
"""

from members.services.accounts import (
    account_create,
    account_delete,
    merchant_api_key_create,
    merchant_create,
    merchant_staff_create,
)
from members.services.auth import shopper_get_or_create, shopper_register, shopper_token_create
from members.services.follows import follow_create, follow_delete
from members.services.memberships import JoinResult, membership_join, membership_leave
from members.services.shoppers import shopper_delete
from members.services.tiers import tier_create

__all__ = [
    "JoinResult",
    "account_create",
    "account_delete",
    "follow_create",
    "follow_delete",
    "membership_join",
    "membership_leave",
    "merchant_api_key_create",
    "merchant_create",
    "merchant_staff_create",
    "shopper_delete",
    "shopper_get_or_create",
    "shopper_register",
    "shopper_token_create",
    "tier_create",
]
