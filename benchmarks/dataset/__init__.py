"""The benchmark dataset, generated inside PostgreSQL with set-based SQL.

Every value comes from ``pg_temp.bench_rand(n, stream)``, a hash of the row number,
the stream and the seed, so a given ``--scale`` and ``--seed`` always produce the same
rows, whatever the plan or the machine. Rows get explicit ids (1..N), so the
statements can address each other's rows by arithmetic instead of lookups; the
sequences are moved past them at the end.

Merchants, their brand and employee accounts, tiers, programs and coupon templates
(a few dozen rows) go through the services and the ORM; everything counted in
thousands is one ``INSERT ... SELECT generate_series(...)`` per chunk, with a
progress bar.

The package: ``reference`` makes the few dozen rows that go through the services
(merchants, accounts, tiers, programs, coupon templates) and the session's helper
functions; ``rows`` holds the set-based statements for everything counted in
thousands; ``engagement`` the engagement events and their partitions. Bump
``DATASET_VERSION`` (``benchmarks/database.py``) when any of them changes.
"""

from django.db import connection

from benchmarks.dataset import rows
from benchmarks.dataset.engagement import engagement_events
from benchmarks.dataset.reference import (
    CHECKOUT_MIN_SPEND,
    CHECKOUT_TEMPLATE,
    COUPON_TEMPLATES,
    DATASET_COUPON_TEMPLATES,
    HISTORY_LINES,
    JOIN_BONUS,
    MERCHANT_SLUG,
    REPURCHASE_TEMPLATE,
    TEMPLATE_PRODUCTS,
    TIERS,
    coupon_templates_make,
    merchants_make,
    session_prepare,
)
from benchmarks.dataset.rows import EXPLICIT_ID_TABLES, insert_chunked
from benchmarks.progress import timed
from benchmarks.scales import Scale
from loyalty.models import PointsAccount

__all__ = [
    "CHECKOUT_MIN_SPEND",
    "CHECKOUT_TEMPLATE",
    "COUPON_TEMPLATES",
    "DATASET_COUPON_TEMPLATES",
    "JOIN_BONUS",
    "MERCHANT_SLUG",
    "REPURCHASE_TEMPLATE",
    "TEMPLATE_PRODUCTS",
    "TIERS",
    "dataset_build",
]


def dataset_build(*, scale: Scale, seed: int) -> None:
    _check(scale)
    with connection.cursor() as cur:
        session_prepare(cur, seed)
        with timed("merchants"):
            merchants_make(cur, scale)
        ppm = scale.products // scale.merchants
        # Each merchant has its own categories (the same slugs at every merchant).
        insert_chunked(
            cur, "categories", scale.categories * scale.merchants, rows.CATEGORIES, c=scale.categories
        )
        insert_chunked(cur, "products", ppm * scale.merchants, rows.PRODUCTS, ppm=ppm, c=scale.categories)
        with timed("coupon templates"):
            coupon_templates_make(cur, scale)
        insert_chunked(cur, "shoppers", scale.shoppers, rows.SHOPPERS)
        insert_chunked(cur, "memberships", scale.memberships, rows.MEMBERSHIPS, m=scale.merchants)
        cur.execute(rows.LAST_MEMBER_NUMBER)
        insert_chunked(cur, "points accounts", scale.memberships, rows.POINTS_ACCOUNTS, bonus=JOIN_BONUS)
        insert_chunked(cur, "points entries", 2 * scale.memberships, rows.POINTS_ENTRIES, bonus=JOIN_BONUS)
        cur.execute("SELECT count(*) FROM bench_a")
        accounts = cur.fetchone()[0]
        insert_chunked(cur, "follows", scale.follows, rows.FOLLOWS, s=scale.shoppers, a=accounts)
        with timed("iron-fan members"):
            cur.execute(rows.MEMBERSHIP_IRON_FANS)
        if _has_table(cur, "members_accountfancount"):  # absent from older code, measured beside
            with timed("account fan counts"):
                cur.execute(rows.ACCOUNT_FAN_COUNTS)
        insert_chunked(
            cur,
            "history orders",
            scale.history_orders,
            rows.HISTORY_ORDERS,
            nm=scale.memberships,
            ppm=ppm,
            unit="orders",
        )
        with timed("purchase stats"):
            cur.execute(rows.PURCHASE_STATS)
        with timed("tiers from spend"):
            cur.execute(rows.TIERS_FROM_SPEND)
        if _has_field(PointsAccount, "first_order_at"):
            with timed("first orders"):
                cur.execute(rows.FIRST_ORDERS)
        insert_chunked(cur, "coupons", scale.coupons, rows.COUPONS, k=DATASET_COUPON_TEMPLATES)
        cur.execute(rows.TEMPLATE_ISSUED_COUNTS)
        engagement_events(cur, scale)
        for table in EXPLICIT_ID_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" GREATEST((SELECT max(id) FROM {table}), 1))"
            )
    with timed("vacuum analyze"):
        _vacuum_analyze()


def _check(scale: Scale) -> None:
    if scale.merchants < 2:
        raise ValueError("the dataset needs two merchants or more: member shoppers join two each")
    if scale.products // scale.merchants < HISTORY_LINES:
        raise ValueError("each merchant needs at least three products for 3-line orders")
    if scale.memberships > 2 * scale.shoppers:
        raise ValueError("memberships are at most two per shopper")
    if scale.coupons > scale.memberships:
        raise ValueError("the dataset's coupons are at most one per membership")
    if scale.products // scale.merchants < TEMPLATE_PRODUCTS:
        raise ValueError(f"each merchant needs {TEMPLATE_PRODUCTS} products or more for its coupon templates")


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _has_table(cur, name: str) -> bool:
    return name in connection.introspection.table_names(cur)


def _vacuum_analyze() -> None:
    """Fresh statistics and visibility maps, so the first benchmark does not pay for them."""
    with connection.cursor() as cur:
        tables = [
            *EXPLICIT_ID_TABLES,
            "storefront_purchasestat",
            "members_merchant",
            "members_tier",
            "coupons_coupontemplate",
            "members_engagementevent",
        ]
        if connection.in_atomic_block:  # inside a test's transaction: VACUUM is not allowed
            cur.execute(f"ANALYZE {', '.join(tables)}")
        else:
            cur.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
