"""Issuing coupons: the one path every single issue (join, repurchase, exchange, manual) takes.

Coupons are held by shoppers, members or not. Two rules hold under any concurrency:
- **stock**: ``issued_count`` moves by a guarded ``UPDATE ... WHERE issued_count < stock``;
- **per-shopper limit**: the coupon is inserted by ``INSERT ... SELECT ... WHERE
  (unused held) < limit`` *after* that ``UPDATE``. The limit counts coupons of one
  template, and every issuer of a template holds the template's row for its last
  limit check and until commit (this function takes it with its stock ``UPDATE``;
  a campaign chunk after its insert, to recheck and claim its stock): issuers to one
  shopper of one template queue on that row, and each one's count (a new statement,
  a new snapshot) sees the coupons the previous one committed. No membership row is
  needed, so the limit holds for every holder (docs/coupons.md).
"""

import secrets
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from coupons import errors
from coupons.models import CODE_ALPHABET, CODE_LENGTH, Coupon, CouponTemplate
from members.models import Membership, Shopper
from members.webhooks.events import webhook_emit
from members.webhooks.models import EventType

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
    *, template: CouponTemplate, merchant_id: int, shopper_id: int, source: str, now: datetime | None = None
) -> Coupon:
    """Issue one coupon of ``template`` (a template of ``merchant_id``) to a shopper.

    Whether the shopper must be a member is the caller's rule (an exchange needs points,
    the repurchase coupon asks the program); the limit and the stock hold either way.
    """
    now = now or timezone.now()
    if template.merchant_id != merchant_id:
        raise errors.TemplateNotFound()
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
        shopper_id=shopper_id,
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
    coupon_issued_emit(coupon=coupon, template=template)
    return coupon


def coupon_issued_emit(*, coupon: Coupon, template: CouponTemplate) -> None:
    """``coupon.issued`` for the merchant's webhooks; no statement when the template's
    merchant is loaded and nobody listens (one small read otherwise)."""
    merchant = template.merchant if CouponTemplate.merchant.is_cached(template) else template.merchant_id

    def payload() -> dict:
        return {
            "code": coupon.code,
            "template": template.pk,
            "template_name": template.name,
            "shopper": Shopper.objects.values_list("external_id", flat=True).get(pk=coupon.shopper_id),
            "source": coupon.source,
            "expires_at": coupon.expires_at.isoformat().replace("+00:00", "Z"),
        }

    webhook_emit(merchant=merchant, type=EventType.COUPON_ISSUED, payload=payload, now=coupon.issued_at)


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
    """Issue to a shopper who must be an active member of the template's merchant (the
    admin's manual issue; campaigns and the repurchase coupon reach non-members too)."""
    if not Membership.objects.filter(
        shopper=shopper, merchant_id=template.merchant_id, status=Membership.Status.ACTIVE
    ).exists():
        raise errors.NotAMember()
    return coupon_issue(
        template=template, merchant_id=template.merchant_id, shopper_id=shopper.pk, source=source, now=now
    )
