"""Coupon reads: coupons by code for a cart, a shopper's coupons, usable counts."""

from datetime import datetime

from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.sql import comma_joined
from coupons import errors, rules
from coupons.models import Coupon, CouponTemplate
from members.models import Merchant, Shopper
from storefront.rules import order_amount_check
from storefront.selectors import products_by_sku

_LISTED = CouponTemplate.products.through._meta.db_table
_COUPON = Coupon._meta.db_table


def _listed_product_ids() -> RawSQL:
    """The product ids a coupon's template lists, comma-separated (null unless ``products``-scoped).

    Written out: as an ORM ``Subquery`` of a grouped aggregate it took 0.45 ms of CPU a
    call to compile, more than the statement it saves (docs/performance.md).
    """
    return RawSQL(
        f"SELECT {comma_joined('l.product_id')} FROM {_LISTED} l"
        f" WHERE l.coupontemplate_id = {_COUPON}.template_id",
        (),
        output_field=TextField(),
    )


def coupons_by_code(*, merchant: Merchant, codes: list[str]) -> dict[str, Coupon]:
    """The merchant's coupons with these codes, with their templates (an order locks them
    with ``coupons.locks.coupons_lock_by_code``).

    Each coupon carries its template's product list (``listed_product_ids``) from the
    same query, so checking a ``products``-scoped coupon costs no further statement
    (``template_product_ids``): an order keeps to its statement budget whatever the scope.
    """
    if not codes:
        return {}
    coupons = coupons_with_product_lists(Coupon.objects.filter(merchant=merchant, code__in=codes))
    return {c.code: c for c in coupons}


def coupons_with_product_lists(coupons: QuerySet[Coupon]) -> QuerySet[Coupon]:
    """``coupons`` with their templates and their templates' product lists, in one query."""
    return coupons.select_related("template").annotate(listed_product_ids=_listed_product_ids())


def template_product_ids(*, coupons) -> dict[int, frozenset[int]]:
    """Product lists of the ``products``-scoped templates among ``coupons``: from the coupons
    themselves when ``coupons_by_code`` loaded them, else one query (only if any)."""
    scoped = [c for c in coupons if c.template.scope == CouponTemplate.Scope.PRODUCTS]
    if not scoped:
        return {}
    if all(hasattr(c, "listed_product_ids") for c in scoped):
        return {
            c.template_id: frozenset(int(i) for i in (c.listed_product_ids or "").split(",") if i)
            for c in scoped
        }
    template_ids = {c.template_id for c in scoped}
    pairs = CouponTemplate.products.through.objects.filter(coupontemplate_id__in=template_ids).values_list(
        "coupontemplate_id", "product_id"
    )
    found: dict[int, set[int]] = {tid: set() for tid in template_ids}
    for template_id, product_id in pairs:
        found[template_id].add(product_id)
    return {tid: frozenset(ids) for tid, ids in found.items()}


def usable_q(now: datetime) -> Q:
    return Q(state=Coupon.State.ISSUED, expires_at__gt=now) & (
        Q(valid_from__isnull=True) | Q(valid_from__lte=now)
    )


def coupon_list(
    *, shopper: Shopper, now: datetime, merchant: Merchant | None = None, state: str | None = None
):
    """A shopper's coupons with their terms. ``usable``: can be used now; ``expired``
    includes issued ones past their date that the nightly job has not marked yet."""
    coupons = Coupon.objects.filter(shopper=shopper).select_related("template__category", "merchant")
    if merchant is not None:
        coupons = coupons.filter(merchant=merchant)
    if state == "usable":
        coupons = coupons.filter(usable_q(now))
    elif state == "redeemed":
        coupons = coupons.filter(state=Coupon.State.REDEEMED)
    elif state == "expired":
        coupons = coupons.filter(
            Q(state=Coupon.State.EXPIRED) | Q(state=Coupon.State.ISSUED, expires_at__lte=now)
        )
    return coupons


def usable_counts_by_merchant(*, shopper: Shopper, now: datetime) -> dict[int, int]:
    rows = Coupon.objects.filter(usable_q(now), shopper=shopper).values("merchant_id").annotate(n=Count("id"))
    return {row["merchant_id"]: row["n"] for row in rows}


def usable_repurchase_coupons(*, shopper: Shopper, merchant_ids: set[int], now: datetime) -> list[Coupon]:
    """Usable coupons the shopper got for buying again, soonest to expire first."""
    if not merchant_ids:
        return []
    return list(
        Coupon.objects.filter(
            usable_q(now), shopper=shopper, merchant_id__in=merchant_ids, source=Coupon.Source.REPURCHASE
        )
        # Shown with their terms and merchant beside the products: no query per coupon.
        .select_related("template__category", "merchant")
        .order_by("expires_at", "id")
    )


def template_list(*, merchant: Merchant) -> QuerySet[CouponTemplate]:
    return CouponTemplate.objects.for_merchant(merchant).select_related("category")


def template_get(*, merchant: Merchant, template_id: str | int) -> CouponTemplate:
    """One of the merchant's templates; an id from a path that is not a number is not found either."""
    text = str(template_id)
    is_id = text.isascii() and text.isdigit()
    templates = template_list(merchant=merchant).prefetch_related("products")
    template = templates.filter(pk=int(text)).first() if is_id else None
    if template is None:
        raise errors.TemplateNotFound()
    return template


def coupon_is_usable(coupon: Coupon, *, now: datetime) -> bool:
    """``usable_q`` for one coupon in hand: the flag beside a coupon and the filter agree."""
    started = coupon.valid_from is None or coupon.valid_from <= now
    return coupon.state == Coupon.State.ISSUED and coupon.expires_at > now and started


def cart_lines(*, lines: list[dict], products: dict) -> list[rules.CartLine]:
    return [
        rules.CartLine.of(products[line["sku"]], quantity=line["quantity"], unit_price=line["unit_price"])
        for line in lines
    ]


def cart_validate(*, merchant: Merchant, shopper: str, lines: list[dict], coupon_codes: list[str]) -> dict:
    """The coupon rules of an order as a dry run: reads only, whatever the outcome."""
    products = products_by_sku(merchant=merchant, skus=[line["sku"] for line in lines])
    shopper_id = Shopper.objects.filter(external_id=shopper).values_list("pk", flat=True).first()
    coupons = coupons_by_code(merchant=merchant, codes=coupon_codes)
    evaluation = rules.evaluate(
        codes=list(coupon_codes),
        coupons=coupons,
        template_products=template_product_ids(coupons=coupons.values()),
        shopper_id=shopper_id,
        lines=cart_lines(lines=lines, products=products),
        now=timezone.now(),
    )
    order_amount_check(evaluation.subtotal)  # the order would refuse it: so does its dry run
    return {
        "subtotal": evaluation.subtotal,
        "discount": evaluation.discount,
        "total": evaluation.total,
        "applied": [coupon.code for coupon, _ in evaluation.applied],
        "rejected": [
            {"code": code, "reason": reason.code, "detail": reason.detail}
            for code, reason in evaluation.rejected
        ],
    }
