"""Row locks of the members app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked
from members.engagement.models import EngagementScore, FanPolicy
from members.models import AccountFanCount, Follow, Membership, Merchant, Shopper, ShopperClaim


def merchants_lock() -> QuerySet[Merchant]:
    """Merchants, locked: a join takes the member number from the merchant's counter."""
    return locked(Merchant)


def shoppers_lock() -> QuerySet[Shopper]:
    return locked(Shopper)


def shopper_claims_lock() -> QuerySet[ShopperClaim]:
    """A shopper's claim codes, locked: each attempt at a code is counted under this lock."""
    return locked(ShopperClaim)


def memberships_lock() -> QuerySet[Membership]:
    """Memberships, locked: the lock every coupon issue to the member holds (per-member limit)."""
    return locked(Membership)


def follows_lock() -> QuerySet[Follow]:
    """Follows, locked: an unfollow moves the score to the waiting scores first."""
    return locked(Follow)


def waiting_scores_lock() -> QuerySet[EngagementScore]:
    """Waiting scores (of shoppers who engage without following), locked: a new follow
    takes its shopper's, and the hourly job folds those left beside a follow."""
    return locked(EngagementScore)


def fan_policies_lock() -> QuerySet[FanPolicy]:
    """Fan policies, locked: edited alone (``PATCH /api/v1/merchant/program``)."""
    return locked(FanPolicy)


def account_fan_counts_lock() -> QuerySet[AccountFanCount]:
    """Accounts' fan counts, locked: a recount reads the follows only once it holds them
    (``members.fan_counts``); every other writer moves them by a delta, last."""
    return locked(AccountFanCount)
