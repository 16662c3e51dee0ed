"""Row locks of the coupons app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked, locking_clause
from coupons.models import CampaignRun, Coupon, CouponTemplate, ScheduledCoupon
from coupons.selectors import coupons_with_product_lists
from members.models import Merchant


def coupons_lock_by_code(*, merchant: Merchant, codes: list[str]) -> dict[str, Coupon]:
    """The merchant's coupons with these codes, locked by id for an order (templates read,
    not locked), each with its template's product list as ``coupons_by_code`` reads it."""
    if not codes:
        return {}
    return coupons_with_product_lists(merchant_id=merchant.pk, codes=codes, tail=locking_clause(Coupon))


def scheduled_coupons_lock(*, skip_locked: bool = False) -> QuerySet[ScheduledCoupon]:
    """Promised coupons, locked. Only the promise: with ``select_related("template")`` the
    join would otherwise lock (and skip on) the template row too, which every issue of
    that template holds until commit."""
    return locked(ScheduledCoupon, skip_locked=skip_locked)


def coupon_templates_lock() -> QuerySet[CouponTemplate]:
    """Templates, locked: a campaign chunk holds its template's row from the recheck of
    what it inserted (the per-shopper limit) and its stock claim to its commit, as
    ``coupon_issue``'s guarded ``UPDATE`` does before its limit check."""
    return locked(CouponTemplate)


def campaign_runs_lock() -> QuerySet[CampaignRun]:
    """Campaign runs, locked: a chunk moves its run's counters, a resume checks its status."""
    return locked(CampaignRun)
