"""Coupon reads: coupons by code for a cart, a shopper's coupons, usable counts."""

import functools
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.sql import any_of, comma_joined, instance_of, model_columns, row_reader, timestamp
from coupons import errors, rules
from coupons.models import Campaign, CampaignRun, Coupon, CouponTemplate
from members.models import Merchant, Shopper
from storefront.models import Category
from storefront.rules import order_amount_check
from storefront.selectors import products_by_sku

_LISTED = CouponTemplate.products.through._meta.db_table
_COUPON = Coupon._meta.db_table


def coupons_by_code(*, merchant: Merchant, codes: list[str]) -> dict[str, Coupon]:
    """The merchant's coupons with these codes, with their templates (an order locks them
    with ``coupons.locks.coupons_lock_by_code``).

    Each coupon carries its template's product list (``listed_product_ids``) from the
    same query, so checking a ``products``-scoped coupon costs no further statement
    (``template_product_ids``): an order keeps to its statement budget whatever the scope.
    """
    if not codes:
        return {}
    return coupons_with_product_lists(merchant_id=merchant.pk, codes=codes)


def coupons_with_product_lists(*, merchant_id: int, codes: list[str], tail: str = "") -> dict[str, Coupon]:
    """The merchant's coupons with these codes, each with its template (loaded as
    ``select_related`` would) and its template's product list (``listed_product_ids``),
    in one statement; ``tail`` ends it (``coupons.locks`` adds its lock there).

    Written out: every order and cart validation reads its coupons this way, and the
    queryset's compile (the join, the product-list subquery) cost more CPU than
    PostgreSQL's answer from ``coupon.code``'s unique index (docs/performance.md).
    """
    if not codes:
        return {}
    head, code_column = _coupons_with_product_lists_sql()
    condition, params = any_of(code_column, codes)
    with connection.cursor() as cursor:
        cursor.execute(f"{head} AND {condition}{tail}", [merchant_id, *params])
        rows = cursor.fetchall()
    template_start = len(Coupon._meta.concrete_fields)
    listed_at = template_start + len(CouponTemplate._meta.concrete_fields)
    found = {}
    for row in rows:
        coupon = instance_of(Coupon, row)
        _TEMPLATE.set_cached_value(coupon, instance_of(CouponTemplate, row, start=template_start))
        coupon.listed_product_ids = row[listed_at]
        found[coupon.code] = coupon
    return found


@functools.cache
def _coupons_with_product_lists_sql() -> tuple[str, str]:
    """The statement of ``coupons_with_product_lists`` up to its merchant filter (one
    parameter), and the code's column. The coupon table goes by its name, not an alias,
    so that a lock's ``FOR UPDATE OF`` can name it."""
    quote = connection.ops.quote_name
    coupon, template = Coupon._meta, CouponTemplate._meta
    table = quote(coupon.db_table)
    listed = (
        f"SELECT {comma_joined('l.product_id')} FROM {_LISTED} l"
        f" WHERE l.coupontemplate_id = {table}.{quote(coupon.get_field('template').column)}"
    )
    head = (
        f"SELECT {model_columns(Coupon, table)}, {model_columns(CouponTemplate, 't')}, ({listed})"
        f" FROM {table} JOIN {quote(template.db_table)} t"
        f" ON t.{quote(template.pk.column)} = {table}.{quote(coupon.get_field('template').column)}"
        f" WHERE {table}.{quote(coupon.get_field('merchant').column)} = %s"
    )
    return head, f"{table}.{quote(coupon.get_field('code').column)}"


_TEMPLATE = Coupon._meta.get_field("template")


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


@dataclass(slots=True)
class HeldTerms:
    """A held coupon's template, as ``usable_coupons_shown`` reads it (the fields of
    ``CouponTemplate`` that a shopper is shown, and ``scope`` and ``category_id`` for
    ``rules.in_scope``)."""

    id: int
    name: str
    kind: str
    value: Decimal
    min_spend: Decimal
    max_discount: Decimal | None
    scope: str
    category_id: int | None
    category_slug: str | None
    valid_days: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    per_member_limit: int
    stock: int | None
    issued_count: int
    points_price: int | None
    stackable: bool
    active: bool


@dataclass(slots=True)
class HeldCoupon:
    """A coupon to show beside a product: its fields, its merchant's slug, its terms and,
    for a ``products``-scoped template, the ids of the products it lists."""

    id: int
    code: str
    merchant_id: int
    merchant_slug: str
    state: str
    source: str
    issued_at: datetime
    valid_from: datetime | None
    expires_at: datetime
    redeemed_at: datetime | None
    template: HeldTerms
    product_ids: frozenset[int]


# The statement's columns: the fields of ``HeldCoupon`` (up to its terms) and of
# ``HeldTerms``, each a column of the coupon, the template, or the joined slug.
_COUPON_COLUMNS = [f.name for f in fields(HeldCoupon)][:-2]
_TERMS_COLUMNS = [f.name for f in fields(HeldTerms)]
_JOINED = {"merchant_slug": "m.slug", "category_slug": "tc.slug"}


def usable_coupons_shown(*, shopper: Shopper, merchant_ids, now: datetime) -> list[HeldCoupon]:
    """The shopper's coupons of these merchants usable at ``now`` (``usable_q``), soonest to
    expire first, with their terms and product lists: one statement (``coupon_shopper_state``).

    Written out, and read into plain objects rather than models: the feed shows them on
    every page, and the ORM's compile and model instances cost more CPU than the
    statement (docs/performance.md, "Feed"). The filter is ``usable_q``'s, spelled in
    SQL; tests/loyalty/test_feed_api.py checks the two agree coupon state by state.
    """
    if not merchant_ids:
        return []
    merchants, merchant_params = any_of("c.merchant_id", sorted(merchant_ids))
    sql = (
        f"{_held_select()} WHERE c.shopper_id = %s AND {merchants}"
        " AND c.state = %s AND c.expires_at > %s AND (c.valid_from IS NULL OR c.valid_from <= %s)"
        " ORDER BY c.expires_at, c.id"
    )
    moment = timestamp(now)
    params = [CouponTemplate.Scope.PRODUCTS, shopper.pk, *merchant_params, Coupon.State.ISSUED]
    params += [moment, moment]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_held(values) for values in map(_held_reader(), rows)]


# The shopper's coupon list, newest first; its cursor is this key (``core.pagination.Keyset``).
COUPON_PAGE_KEY = [Coupon._meta.get_field("id")]


def coupon_page(
    *, shopper: Shopper, now: datetime, keyset, merchant: Merchant | None = None, state: str | None = None
) -> list[HeldCoupon]:
    """One page of ``coupon_list`` (the same filters, ``keyset`` the page asked for) as
    ``HeldCoupon`` rows with their terms: one statement, written out, as
    ``usable_coupons_shown`` and for the same reason (the shopper app's coupon wallet is read
    on every visit). Reads ``coupon_shopper_state`` for the shopper and state, in id order."""
    filters, params = ["c.shopper_id = %s"], [CouponTemplate.Scope.PRODUCTS, shopper.pk]
    if merchant is not None:
        filters.append("c.merchant_id = %s")
        params.append(merchant.pk)
    moment = timestamp(now)
    if state == "usable":
        filters.append("c.state = %s AND c.expires_at > %s AND (c.valid_from IS NULL OR c.valid_from <= %s)")
        params += [Coupon.State.ISSUED, moment, moment]
    elif state == "redeemed":
        filters.append("c.state = %s")
        params.append(Coupon.State.REDEEMED)
    elif state == "expired":
        filters.append("(c.state = %s OR (c.state = %s AND c.expires_at <= %s))")
        params += [Coupon.State.EXPIRED, Coupon.State.ISSUED, moment]
    head = f"{_held_select()} WHERE {' AND '.join(filters)}"
    rows = keyset.read(head, params, key=["c.id"], fields=_held_fields())
    return [_held(values) for values in rows]


@functools.cache
def _held_select() -> str:
    """The SELECT of ``HeldCoupon`` rows up to its WHERE; its first parameter is the
    ``products`` scope (the product list is read for those templates only)."""
    coupon_columns = ", ".join(_JOINED.get(name, f"c.{name}") for name in _COUPON_COLUMNS)
    terms_columns = ", ".join(_JOINED.get(name, f"t.{name}") for name in _TERMS_COLUMNS)
    return (
        f"SELECT {coupon_columns}, {terms_columns},"
        f" CASE WHEN t.scope = %s THEN (SELECT {comma_joined('l.product_id')} FROM {_LISTED} l"
        "  WHERE l.coupontemplate_id = t.id) END AS listed"
        f" FROM {_COUPON} c"
        f" JOIN {CouponTemplate._meta.db_table} t ON t.id = c.template_id"
        f" JOIN {Merchant._meta.db_table} m ON m.id = c.merchant_id"
        f" LEFT JOIN {Category._meta.db_table} tc ON tc.id = t.category_id"
    )


def _held_fields() -> list:
    return (
        [None if name in _JOINED else Coupon._meta.get_field(name) for name in _COUPON_COLUMNS]
        + [None if name in _JOINED else CouponTemplate._meta.get_field(name) for name in _TERMS_COLUMNS]
        + [None]
    )


def _held_reader():
    return row_reader(_held_fields())


def _held(values: list) -> HeldCoupon:
    """A ``HeldCoupon`` of a ``_held_select`` row's converted values."""
    listed = values.pop()
    split = len(_COUPON_COLUMNS)
    return HeldCoupon(
        *values[:split],
        template=HeldTerms(*values[split:]),
        product_ids=frozenset(int(i) for i in str(listed).split(",") if i) if listed else frozenset(),
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
    shopper_id = _shopper_id(external_id=shopper)
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


def _shopper_id(*, external_id: str) -> int | None:
    """The shopper's id, None for one not known yet (their coupons cannot apply). Written
    out, as ``coupons_with_product_lists``: the validation is a hot read."""
    quote = connection.ops.quote_name
    meta = Shopper._meta
    sql = (
        f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)}"
        f" WHERE {quote(meta.get_field('external_id').column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [external_id])
        row = cursor.fetchone()
    return row[0] if row else None


def campaign_list(*, merchant: Merchant) -> QuerySet[Campaign]:
    """The merchant's campaigns, each with the id of its latest run (``last_run_id``)."""
    latest = CampaignRun.objects.filter(campaign=OuterRef("pk")).order_by("-id").values("id")[:1]
    return Campaign.objects.for_merchant(merchant).annotate(last_run_id=Subquery(latest))


BIGINT_MAX = 2**63 - 1


def _path_id(value: str | int) -> int | None:
    """An id from a path: digits within the column, else it names nothing."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= BIGINT_MAX:
        return None
    return int(text)


def campaign_get(*, merchant: Merchant, campaign_id: str | int) -> Campaign:
    campaign_id = _path_id(campaign_id)
    if campaign_id is None:
        raise errors.CampaignNotFound(attr="id")
    campaign = (
        campaign_list(merchant=merchant).select_related("merchant", "template").filter(pk=campaign_id).first()
    )
    if campaign is None:
        raise errors.CampaignNotFound(attr="id")
    return campaign


def campaign_runs_by_id(*, ids) -> dict[int, CampaignRun]:
    ids = [i for i in ids if i is not None]
    return {run.pk: run for run in CampaignRun.objects.filter(pk__in=ids)} if ids else {}


def campaign_run_get(*, campaign: Campaign, run_id: str | int) -> CampaignRun:
    run_id = _path_id(run_id)
    run = CampaignRun.objects.filter(campaign=campaign, pk=run_id).first() if run_id else None
    if run is None:
        raise errors.CampaignRunNotFound(attr="run")
    return run
