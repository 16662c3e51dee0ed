"""Issuing coupons: the one path every source (join, repurchase, exchange, manual) takes.

Two rules hold under any concurrency:
- **stock**: ``issued_count`` moves by a guarded ``UPDATE ... WHERE issued_count < stock``;
  the template's row lock then serialises issuers of that template until commit;
- **per-member limit**: the caller holds the member's membership row lock, and the
  coupon is inserted by ``INSERT ... SELECT ... WHERE (unused held) < limit``, so
  two issues to one shopper can never both pass the count.
"""

import secrets
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from coupons import errors
from coupons.models import CODE_ALPHABET, CODE_LENGTH, Coupon, CouponTemplate
from members.locks import memberships_lock
from members.models import Membership, Shopper

COUPON = Coupon._meta.db_table
TEMPLATE = CouponTemplate._meta.db_table


def coupon_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def coupon_validity(*, template: CouponTemplate, now: datetime) -> tuple[datetime | None, datetime]:
    """(valid_from, expires_at) of a coupon issued now."""
    if template.valid_days is not None:
        return None, now + timedelta(days=template.valid_days)
    return template.valid_from, template.valid_until


def coupon_issue(
    *, template: CouponTemplate, membership: Membership, source: str, now: datetime | None = None
) -> Coupon:
    """Issue one coupon of ``template`` to a member.

    The caller holds ``membership``'s row lock (``members.locks.memberships_lock``) in the current
    transaction; ``coupon_issue_to_shopper`` is the entry point that takes it.
    """
    now = now or timezone.now()
    if membership.merchant_id != template.merchant_id or membership.status != Membership.Status.ACTIVE:
        raise errors.NotAMember()
    if not template.active:
        raise errors.TemplateInactive()
    valid_from, expires_at = coupon_validity(template=template, now=now)
    if expires_at <= now:
        raise errors.CouponExpired("This coupon's validity window is over; none can be issued.")
    issued_count = _claim_stock(template_id=template.pk)
    if issued_count is None:
        raise errors.CouponOutOfStock()
    coupon = Coupon(
        template=template,
        merchant_id=template.merchant_id,
        shopper_id=membership.shopper_id,
        code=coupon_code_new(),
        state=Coupon.State.ISSUED,
        source=source,
        issued_at=now,
        valid_from=valid_from,
        expires_at=expires_at,
    )
    coupon.pk = _insert_within_limit(coupon=coupon, limit=template.per_member_limit, now=now)
    if coupon.pk is None:
        # Give the claimed unit of stock back: the caller may go on without this coupon.
        CouponTemplate.objects.filter(pk=template.pk).update(issued_count=F("issued_count") - 1)
        raise errors.CouponLimitReached()
    # The count this issue made, as answered (an exchange shows its template's count).
    template.issued_count = issued_count
    coupon._state.adding = False
    return coupon


def _claim_stock(*, template_id: int) -> int | None:
    """One unit of the template's stock: the new ``issued_count``, or None when none is left."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {TEMPLATE} SET issued_count = issued_count + 1
            WHERE id = %s AND (stock IS NULL OR issued_count < stock)
            RETURNING issued_count
            """,
            [template_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _insert_within_limit(*, coupon: Coupon, limit: int, now: datetime) -> int | None:
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {COUPON}
                (template_id, merchant_id, shopper_id, code, state, source, order_id,
                 issued_at, valid_from, expires_at, redeemed_at)
            SELECT %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, NULL
            WHERE (SELECT COUNT(*) FROM {COUPON}
                   WHERE template_id = %s AND shopper_id = %s AND state = %s AND expires_at > %s) < %s
            RETURNING id
            """,
            [
                coupon.template_id,
                coupon.merchant_id,
                coupon.shopper_id,
                coupon.code,
                coupon.state,
                coupon.source,
                ops.adapt_datetimefield_value(coupon.issued_at),
                ops.adapt_datetimefield_value(coupon.valid_from),
                ops.adapt_datetimefield_value(coupon.expires_at),
                coupon.template_id,
                coupon.shopper_id,
                Coupon.State.ISSUED,
                ops.adapt_datetimefield_value(now),
                limit,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


@transaction.atomic
def coupon_issue_to_shopper(
    *,
    template: CouponTemplate,
    shopper: Shopper,
    source: str = Coupon.Source.MANUAL,
    now: datetime | None = None,
) -> Coupon:
    """Issue to a shopper who must be an active member of the template's merchant."""
    membership = (
        memberships_lock()
        .filter(shopper=shopper, merchant_id=template.merchant_id, status=Membership.Status.ACTIVE)
        .first()
    )
    if membership is None:
        raise errors.NotAMember()
    return coupon_issue(template=template, membership=membership, source=source, now=now)
