"""Reads over the catalog and purchases."""

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import median

from django.db import connection
from django.db.models import F, Prefetch, QuerySet

from core.sql import (
    any_of,
    column,
    epoch_seconds,
    in_subquery,
    instance_of,
    json_array_has,
    json_array_has_param,
    minus_seconds,
    model_columns,
    row_reader,
    table,
    timestamp,
)
from members.models import Account, Follow, Membership, Merchant, Shopper
from storefront import affinity, errors
from storefront.feed import PAGE_SIZE, PREFERENCE_BOOST, FeedItem, FeedView
from storefront.models import (
    Category,
    InboxMessage,
    Order,
    OrderLine,
    Preference,
    Product,
    PurchaseStat,
    PushRollout,
    RolloutPolicy,
)


def purchase_due_again(*, shopper: Shopper, stats: list[PurchaseStat]) -> dict[int, datetime]:
    """When each product bought at least twice is due again: last purchase + median interval.

    One query for the whole page: the times the shopper bought these products (a line
    refunded in full was not bought). A date past the calendar's end is no date.
    """
    repeat_ids = [s.product_id for s in stats if s.times_purchased >= 2]
    if not repeat_ids:
        return {}
    times: dict[int, list[datetime]] = defaultdict(list)
    rows = (
        OrderLine.objects.filter(
            order__shopper=shopper, product_id__in=repeat_ids, refunded_quantity__lt=F("quantity")
        )
        .order_by("product_id", "order__paid_at")
        .values_list("product_id", "order__paid_at")
    )
    for product_id, paid_at in rows:
        times[product_id].append(paid_at)
    due = {}
    for product_id, moments in times.items():
        if len(moments) < 2:
            continue
        gaps = [later - earlier for earlier, later in pairwise(moments)]
        try:
            due[product_id] = moments[-1] + median(gaps)
        except OverflowError:
            continue
    return due


def product_list(
    *,
    merchant: Merchant,
    published: bool | None = None,
    category: str | None = None,
    sku_prefix: str | None = None,
) -> QuerySet[Product]:
    """The merchant's catalog (``product_unique_merchant_sku`` serves the sku order and prefix)."""
    products = Product.objects.filter(merchant=merchant).select_related("category")
    if published is not None:
        products = products.filter(published_at__isnull=not published)
    if category is not None:
        products = products.filter(category__slug=category)
    if sku_prefix:
        products = products.filter(sku__startswith=sku_prefix)
    return products


def product_get(*, merchant: Merchant, sku: str) -> Product:
    product = Product.objects.filter(merchant=merchant, sku=sku).select_related("category").first()
    if product is None:
        raise errors.ProductNotFound()
    return product


def order_list(
    *,
    merchant: Merchant,
    shopper: str | None = None,
    paid_after: datetime | None = None,
    paid_before: datetime | None = None,
) -> QuerySet[Order]:
    """The merchant's orders with their shopper, selling account, lines and refunds.

    Three queries a page: the orders, their lines with products, their refunds.
    """
    orders = (
        Order.objects.filter(merchant=merchant)
        .select_related("shopper", "via_account")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id")),
            "refunds",
        )
    )
    if shopper is not None:
        orders = orders.filter(shopper__external_id=shopper)
    if paid_after is not None:
        orders = orders.filter(paid_at__gte=paid_after)
    if paid_before is not None:
        orders = orders.filter(paid_at__lt=paid_before)
    return orders


def recent_orders(*, merchant: Merchant, shopper: Shopper, limit: int) -> QuerySet[Order]:
    """A shopper's latest orders at this merchant (``order_merchant_shopper_paid``)."""
    return Order.objects.filter(merchant=merchant, shopper=shopper).order_by("-paid_at", "-id")[:limit]


def category_get(*, merchant: Merchant, slug: str) -> Category:
    """The merchant's category with this slug; a template may name only one that exists."""
    category = Category.objects.filter(merchant=merchant, slug=slug).first()
    if category is None:
        raise errors.UnknownCategory(attr="category")
    return category


def products_by_sku(*, merchant: Merchant, skus: list[str]) -> dict[str, Product]:
    """This merchant's products for the skus of an order or cart; any unknown sku refuses it."""
    if len(set(skus)) != len(skus):
        raise errors.DuplicateSku(attr="lines")
    products = {p.sku: p for p in _products_by_sku_read(merchant_id=merchant.pk, skus=skus)} if skus else {}
    missing = [sku for sku in skus if sku not in products]
    if missing:
        detail = f"No product of this merchant with sku {', '.join(missing)}."
        raise errors.UnknownProduct(detail, attr="lines")
    return products


def _products_by_sku_read(*, merchant_id: int, skus: list[str]) -> list[Product]:
    """One statement, written out: every order and cart validation reads its products,
    and the queryset's compile cost more CPU than PostgreSQL's answer (the unique index
    ``product_unique_merchant_sku``)."""
    quote = connection.ops.quote_name
    meta = Product._meta
    condition, params = any_of(f"p.{quote(meta.get_field('sku').column)}", skus)
    sql = (
        f"SELECT {model_columns(Product, 'p')} FROM {quote(meta.db_table)} p"
        f" WHERE p.{quote(meta.get_field('merchant').column)} = %s AND {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [merchant_id, *params])
        return [instance_of(Product, row) for row in cursor.fetchall()]


def shopper_has_ordered(*, merchant_id: int, shopper_id: int) -> bool:
    """Whether the shopper has any order with the merchant (one index probe)."""
    return Order.objects.filter(merchant_id=merchant_id, shopper_id=shopper_id).exists()


def shopper_first_order_at(*, merchant_id: int, shopper_id: int) -> datetime | None:
    """When the shopper first paid the merchant, if ever (one index probe)."""
    first = Order.objects.filter(merchant_id=merchant_id, shopper_id=shopper_id).order_by("paid_at").first()
    return first.paid_at if first else None


def preferences_top(
    *, shopper: Shopper, now: datetime, limit: int = affinity.SHOWN
) -> list[affinity.Affinity]:
    """The shopper's strongest affinities decayed to ``now``, normalised to sum 1; one query.

    A shopper has a row per category and tag they ever touched (tens, not thousands), so
    they are decayed and ranked here rather than in SQL. Written out: the feed reads them
    on every first page, and the ORM's compile cost more than the statement.
    """
    sql = f"SELECT kind, slug, weight, updated_at FROM {Preference._meta.db_table} WHERE shopper_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [shopper.pk])
        rows = cursor.fetchall()
    read = row_reader([Preference._meta.get_field(name) for name in ("kind", "slug", "weight", "updated_at")])
    return affinity.top_normalised(map(read, rows), now=now, limit=limit)


def feed_page(*, shopper: Shopper, view: FeedView, size: int = PAGE_SIZE) -> list[FeedItem]:
    """One page of the shopper's feed (``storefront.feed``), ``size + 1`` rows to tell if more follow.

    One statement, written out (``_feed_sql``): as ORM querysets the page and its
    sources cost more CPU to compile than PostgreSQL spent running them
    (docs/performance.md, "Feed"). Each item comes with its merchant's slug and name, its
    category's slug, its ``rank`` and its ``reason`` (``member`` when the shopper holds
    the merchant's membership, else ``followed``).

    The merchants whose products reach the feed (the followed accounts' and the active
    memberships') are read by the statement itself and named to the product index as an
    array (``core.sql.in_subquery``): an index condition on ``product_merchant_published``,
    where a subquery ORed with another was a filter over every product of the window.

    Only the products that can reach the page are ranked. A rank lies between a
    product's publication time and that time plus ``reach`` (the boost times the largest
    match the preferences allow, their weights summed). So if ``T`` is the publication
    time of the ``size + 1``-th newest product surely below the cursor (published more
    than ``reach`` before the cursor's rank), those ``size + 1`` products all rank at
    ``T`` or above, and nothing published before ``T - reach`` can outrank them. A
    subquery finds ``T`` from ``product_merchant_published`` (publication times only);
    the ranking then reads the products of the last ``reach`` before ``T`` and after,
    not the whole window: a few hundred rows instead of every product of 500 followed
    accounts (docs/performance.md, "Feed").
    """
    sql, params = _feed_sql(shopper_id=shopper.pk, view=view, size=size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    read = _feed_row_reader()
    items = []
    for row in rows:
        values = read(row)
        member = values.pop()
        items.append(FeedItem(*values, reason="member" if member else "followed"))
    return items


# The page's columns, in order: a model field where the ORM would convert the value
# (decimals and datetimes on SQLite, JSON on both), else None.
_FEED_COLUMNS = (
    ("p.id", None),
    ("p.sku", None),
    ("p.title", None),
    ("p.price", "price"),
    ("p.tags", "tags"),
    ("p.published_at", "published_at"),
    ("p.category_id", None),
    ("c.slug", None),
    ("p.merchant_id", None),
    ("m.slug", None),
    ("m.name", None),
)


def _feed_row_reader():
    return row_reader(
        [Product._meta.get_field(name) if name else None for _, name in _FEED_COLUMNS] + [None, None]
    )


def _feed_sql(*, shopper_id: int, view: FeedView, size: int) -> tuple[str, list]:
    """The page statement of ``feed_page`` and its parameters (in the order they appear)."""
    product, category, merchant = Product._meta.db_table, Category._meta.db_table, Merchant._meta.db_table
    follow, account, membership = Follow._meta.db_table, Account._meta.db_table, Membership._meta.db_table
    reach = timedelta(seconds=PREFERENCE_BOOST.total_seconds() * sum(p.weight for p in view.preferences) + 1)
    since, as_of = timestamp(view.since), timestamp(view.as_of)
    params: list = [shopper_id, Membership.Status.ACTIVE, shopper_id]
    sources = f"""WITH member_of AS (
            SELECT ms.merchant_id FROM {membership} ms WHERE ms.shopper_id = %s AND ms.status = %s
        ), sources AS (
            SELECT a.merchant_id FROM {follow} f JOIN {account} a ON a.id = f.account_id
            WHERE f.shopper_id = %s
            UNION SELECT merchant_id FROM member_of
        )"""
    # The bound: the publication time of the size + 1-th newest product surely below the cursor.
    below = ""
    bound_params: list = [since, as_of]
    if view.after is not None:
        below = " AND q.published_at < %s"
        bound_params.append(timestamp(datetime.fromtimestamp(view.after[0], tz=UTC) - reach))
    bound = (
        f"SELECT q.published_at FROM {product} q"
        f" WHERE {in_subquery('q.merchant_id', 'SELECT merchant_id FROM sources')}"
        f" AND q.published_at >= %s AND q.published_at <= %s{below}"
        " ORDER BY q.published_at DESC LIMIT 1 OFFSET %s"
    )
    bound_params.append(size)
    rank, rank_params = _feed_rank(view, product="p", category_slug="c.slug")
    columns = ", ".join(f"{column} AS c{n}" for n, (column, _) in enumerate(_FEED_COLUMNS))
    n = len(_FEED_COLUMNS)
    inner = f"""SELECT {columns}, {rank} AS rank,
            CASE WHEN p.merchant_id IN (SELECT merchant_id FROM member_of) THEN 1 ELSE 0 END AS c{n + 1}
        FROM {product} p
        JOIN {merchant} m ON m.id = p.merchant_id
        LEFT JOIN {category} c ON c.id = p.category_id
        WHERE {in_subquery("p.merchant_id", "SELECT merchant_id FROM sources")}
            AND p.published_at >= %s AND p.published_at <= %s
            AND p.published_at >= {minus_seconds(f"COALESCE(({bound}), %s)")}"""
    params += [*rank_params, since, as_of, *bound_params, since, reach.total_seconds()]
    after = ""
    if view.after is not None:
        after = " WHERE page.rank < %s OR (page.rank = %s AND page.c0 < %s)"
        params += [view.after[0], view.after[0], view.after[1]]
    outer = ", ".join(f"page.c{i}" for i in range(n))
    sql = (
        f"{sources} SELECT {outer}, page.rank, page.c{n + 1} FROM ({inner}) page{after}"
        " ORDER BY page.rank DESC, page.c0 DESC LIMIT %s"
    )
    params.append(size + 1)
    return sql, params


def _feed_rank(view: FeedView, *, product: str, category_slug: str) -> tuple[str, list]:
    """``floor(published_at + boost * match)`` in SQL, as ``feed.rank_of`` writes it, for the
    product table's alias ``product`` and its category's slug column ``category_slug``."""
    boost = PREFERENCE_BOOST.total_seconds()
    terms, params = [], []
    categories = [p for p in view.preferences if p.kind == Preference.Kind.CATEGORY]
    if categories:
        whens = " ".join("WHEN %s THEN %s" for _ in categories)
        terms.append(f"(CASE {category_slug} {whens} ELSE 0 END)")
        for preference in categories:
            params += [preference.slug, preference.weight]
    for preference in view.preferences:
        if preference.kind == Preference.Kind.TAG:
            terms.append(f"(CASE WHEN {json_array_has(f'{product}.tags')} THEN %s ELSE 0 END)")
            params += [json_array_has_param(preference.slug), preference.weight]
    match = " + ".join(terms) or "0"
    return f"CAST(FLOOR({epoch_seconds(f'{product}.published_at')} + {boost} * ({match})) AS BIGINT)", params


def rollout_policy_of(*, merchant: Merchant) -> RolloutPolicy:
    """The merchant's rollout policy, or the defaults (unsaved) until it changes one.

    No query when ``merchant`` was read with ``select_related("rollout_policy")``.
    """
    try:
        return merchant.rollout_policy
    except RolloutPolicy.DoesNotExist:
        return RolloutPolicy(merchant=merchant)


def inbox_list(*, shopper: Shopper) -> QuerySet[InboxMessage]:
    """The products pushed to the shopper and delivered, with product, merchant and category."""
    return InboxMessage.objects.filter(shopper=shopper, delivered_at__isnull=False).select_related(
        "product__merchant", "product__category"
    )


@dataclass(slots=True)
class InboxRow:
    """One delivered push of the shopper's inbox, as ``inbox_page`` reads it (no model
    instances: the inbox is read on every visit of the home page and only shown)."""

    id: int
    delivered_at: datetime
    opened_at: datetime | None
    sku: str
    title: str
    price: Decimal
    tags: list
    category_slug: str | None
    merchant_slug: str
    merchant_name: str


# The inbox's order, newest delivery first; its cursor is this key (``core.pagination.Keyset``).
INBOX_PAGE_KEY = [InboxMessage._meta.get_field("delivered_at"), InboxMessage._meta.get_field("id")]


def inbox_page(*, shopper: Shopper, keyset) -> list[InboxRow]:
    """One page of the shopper's delivered pushes (``keyset``: the page asked for) with
    their product, its category and merchant: one statement, written out, reading
    ``inbox_shopper_delivered`` in order (the queryset's compile and the nested serializers
    cost more CPU than the statement)."""
    head, key = _inbox_page_sql()
    rows = keyset.read(head, [shopper.pk], key=key, fields=_INBOX_FIELDS)
    return [InboxRow(*values) for values in rows]


# The statement's columns, as ``InboxRow`` lists them: (table alias, model, field name).
_INBOX_COLUMNS = (
    ("i", InboxMessage, "id"),
    ("i", InboxMessage, "delivered_at"),
    ("i", InboxMessage, "opened_at"),
    ("p", Product, "sku"),
    ("p", Product, "title"),
    ("p", Product, "price"),
    ("p", Product, "tags"),
    ("c", Category, "slug"),
    ("m", Merchant, "slug"),
    ("m", Merchant, "name"),
)
_INBOX_FIELDS = [model._meta.get_field(name) for _, model, name in _INBOX_COLUMNS]


@functools.cache
def _inbox_page_sql() -> tuple[str, list[str]]:
    """The page statement of ``inbox_page`` up to its WHERE's filters (the keyset's
    condition, ORDER BY and LIMIT follow), and the key's columns. Parameter: the shopper."""

    selected = ", ".join(f"{alias}.{column(model, name)}" for alias, model, name in _INBOX_COLUMNS)
    delivered = f"i.{column(InboxMessage, 'delivered_at')}"
    head = (
        f"SELECT {selected} FROM {table(InboxMessage)} i"
        f" JOIN {table(Product)} p ON p.{column(Product, 'id')} = i.{column(InboxMessage, 'product')}"
        f" JOIN {table(Merchant)} m ON m.{column(Merchant, 'id')} = p.{column(Product, 'merchant')}"
        f" LEFT JOIN {table(Category)} c ON c.{column(Category, 'id')} = p.{column(Product, 'category')}"
        f" WHERE i.{column(InboxMessage, 'shopper')} = %s AND {delivered} IS NOT NULL"
    )
    return head, [delivered, f"i.{column(InboxMessage, 'id')}"]


def rollout_get(*, merchant: Merchant, sku: str) -> PushRollout:
    """The rollout of this merchant's product; 404 for an unknown sku or one never published."""
    rollout = (
        PushRollout.objects.filter(merchant=merchant, product__sku=sku).select_related("product").first()
    )
    if rollout is None:
        if not Product.objects.filter(merchant=merchant, sku=sku).exists():
            raise errors.ProductNotFound()
        raise errors.RolloutNotFound()
    return rollout
