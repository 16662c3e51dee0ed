"""Coupons promised for later (delayed repurchase coupons) and the job that issues them."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError
from core.jobs import chunks
from coupons import errors
from coupons.locks import scheduled_coupons_lock
from coupons.models import CouponTemplate, ScheduledCoupon
from coupons.services.issuing import coupon_issue
from members.models import Membership

DUE_BATCH = 500


def coupon_schedule(
    *,
    template: CouponTemplate,
    merchant_id: int,
    shopper_id: int,
    source: str,
    due_at: datetime,
    members_only: bool = True,
    order=None,
) -> ScheduledCoupon | None:
    """Promise a coupon for ``due_at``; a second promise of a repurchase coupon is ignored.

    ``members_only``: the shopper must still be an active member when it is due.
    """
    try:
        with transaction.atomic():
            return ScheduledCoupon.objects.create(
                merchant_id=merchant_id,
                shopper_id=shopper_id,
                template=template,
                source=source,
                order=order,
                due_at=due_at,
                members_only=members_only,
            )
    except IntegrityError:
        return None


@dataclass
class DueResult:
    issued: int = 0
    skipped: int = 0


def coupons_issue_due(*, now: datetime | None = None, batch: int = DUE_BATCH) -> DueResult:
    """Issue the promised coupons whose time has come; each is handled exactly once."""
    now = now or timezone.now()
    result = DueResult()
    due = ScheduledCoupon.objects.filter(handled_at__isnull=True, due_at__lte=now)
    # Chunks are read onwards from the last id seen: a promise another worker holds is
    # left to it, not fetched again and again until that worker commits. One
    # transaction per promise, not per chunk: issuing takes the template's row lock,
    # and a promise per transaction keeps that lock as short as one issue.
    for chunk in chunks(due, size=batch):
        for pk in chunk.keys:
            issued = _issue_one(pk=pk, now=now)
            if issued is True:
                result.issued += 1
            elif issued is False:
                result.skipped += 1
    return result


@transaction.atomic
def _issue_one(*, pk: int, now: datetime) -> bool | None:
    """True: issued; False: could not be (recorded why); None: another worker had it."""
    promise = (
        scheduled_coupons_lock(skip_locked=True)
        .select_related("template")
        .filter(pk=pk, handled_at__isnull=True)
        .first()
    )
    if promise is None:
        return None
    promise.handled_at = now
    try:
        if promise.members_only and not _is_member(promise):
            raise errors.NotAMember()
        promise.coupon = coupon_issue(
            template=promise.template,
            merchant_id=promise.merchant_id,
            shopper_id=promise.shopper_id,
            source=promise.source,
            now=now,
        )
        promise.outcome = "issued"
    except DomainError as exc:  # out of stock, limit reached, no longer a member, ...
        promise.outcome = exc.code
    promise.save(update_fields=["handled_at", "coupon", "outcome"])
    return promise.coupon is not None


def _is_member(promise: ScheduledCoupon) -> bool:
    return Membership.objects.filter(
        shopper_id=promise.shopper_id, merchant_id=promise.merchant_id, status=Membership.Status.ACTIVE
    ).exists()
