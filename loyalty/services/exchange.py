"""Points for a coupon: one transaction spends the points and issues the coupon."""

from django.db import transaction
from django.utils import timezone

from coupons import errors as coupon_errors
from coupons.models import Coupon, CouponTemplate
from coupons.services.issuing import coupon_issue
from loyalty.locks import points_accounts_lock
from loyalty.models import PointsEntry
from loyalty.services.points import points_debit_locked
from members.models import Membership, Merchant, Shopper


@transaction.atomic
def coupon_exchange(*, shopper: Shopper, merchant: Merchant, template_id: int) -> Coupon:
    """Buy a coupon with points. Short of points, out of stock or at the limit: nothing is written.

    The account and membership rows are locked together, as in the purchase pipeline:
    concurrent exchanges of one member queue, so they never overdraw the points; the
    per-shopper limit is kept by ``coupon_issue``.
    """
    template = CouponTemplate.objects.filter(merchant=merchant, pk=template_id).first()
    if template is None:
        raise coupon_errors.TemplateNotFound(attr="template")
    if template.points_price is None:
        raise coupon_errors.TemplateNotExchangeable(attr="template")
    account = (
        points_accounts_lock(with_membership=True)
        .select_related("membership")
        .filter(
            membership__shopper=shopper,
            membership__merchant=merchant,
            membership__status=Membership.Status.ACTIVE,
        )
        .first()
    )
    if account is None:
        raise coupon_errors.NotAMember()
    now = timezone.now()
    points_debit_locked(
        account=account,
        points=template.points_price,
        kind=PointsEntry.Kind.REDEEM,
        reason=f"exchanged for coupon: {template.name}",
        now=now,
    )
    return coupon_issue(
        template=template,
        merchant_id=merchant.pk,
        shopper_id=shopper.pk,
        source=Coupon.Source.EXCHANGE,
        now=now,
    )
