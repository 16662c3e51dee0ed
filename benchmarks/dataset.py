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
"""

from decimal import Decimal

from django.apps import apps
from django.db import connection

from benchmarks.progress import Progress, say, timed
from benchmarks.scales import Scale
from coupons.models import CODE_ALPHABET, CODE_LENGTH, CouponTemplate
from coupons.services.templates import coupon_template_create
from loyalty.models import PointsAccount, Program
from loyalty.services.memberships import merchant_onboard
from members.models import Account, Merchant, Tier
from storefront.models import Product

MERCHANT_SLUG = "bench-{:02d}"
# (name, rank, min_spend_12m, earn_multiplier); the first one needs no spend: the entry tier.
TIERS = [("Member", 0, 0, "1.00"), ("Silver", 1, 300, "1.25"), ("Gold", 2, 1000, "1.50")]
JOIN_BONUS = 100
HISTORY_LINES = 3
# Every merchant's coupon templates. The dataset's coupons are of the first three
# (template by hash); the last is the repurchase template, which the coupon-order
# benchmark sets on the program for its run only (so the other order benchmarks
# keep measuring orders that issue nothing).
CHECKOUT_TEMPLATE = "Bench 5 off"
CHECKOUT_MIN_SPEND = Decimal(20)
REPURCHASE_TEMPLATE = "Bench repurchase 5 off"
TEMPLATE_PRODUCTS = 10  # the products-scoped template lists the merchant's first ten products
COUPON_TEMPLATES = [
    # (name, terms); a category scope gets a category of the merchant's products.
    (
        CHECKOUT_TEMPLATE,
        {"kind": "fixed", "value": Decimal(5), "min_spend": CHECKOUT_MIN_SPEND, "valid_days": 30},
    ),
    (
        "Bench 10% off a category",
        {"kind": "percent", "value": Decimal(10), "max_discount": Decimal(15), "scope": "category"},
    ),
    ("Bench 3 off listed products", {"kind": "fixed", "value": Decimal(3), "scope": "products"}),
    (REPURCHASE_TEMPLATE, {"kind": "fixed", "value": Decimal(5), "valid_days": 30, "per_member_limit": 1}),
]
DATASET_COUPON_TEMPLATES = 3
# Tables whose ids the dataset sets itself.
EXPLICIT_ID_TABLES = [
    "storefront_category",
    "storefront_product",
    "members_shopper",
    "members_membership",
    "loyalty_pointsaccount",
    "loyalty_pointsentry",
    "members_follow",
    "storefront_order",
    "storefront_orderline",
    "coupons_coupon",
]


def dataset_build(*, scale: Scale, seed: int) -> None:
    _check(scale)
    with connection.cursor() as cur:
        _session(cur, seed)
        with timed("merchants"):
            _merchants(cur, scale)
        ppm = scale.products // scale.merchants
        # Each merchant has its own categories (the same slugs at every merchant).
        _insert(cur, "categories", scale.categories * scale.merchants, CATEGORIES, c=scale.categories)
        _insert(cur, "products", ppm * scale.merchants, PRODUCTS, ppm=ppm, c=scale.categories)
        with timed("coupon templates"):
            _coupon_templates(cur, scale)
        _insert(cur, "shoppers", scale.shoppers, SHOPPERS)
        _insert(cur, "memberships", scale.memberships, MEMBERSHIPS, m=scale.merchants)
        cur.execute(LAST_MEMBER_NUMBER)
        _insert(cur, "points accounts", scale.memberships, POINTS_ACCOUNTS, bonus=JOIN_BONUS)
        _insert(cur, "points entries", 2 * scale.memberships, POINTS_ENTRIES, bonus=JOIN_BONUS)
        cur.execute("SELECT count(*) FROM bench_a")
        accounts = cur.fetchone()[0]
        _insert(cur, "follows", scale.follows, FOLLOWS, s=scale.shoppers, a=accounts)
        _insert(
            cur,
            "history orders",
            scale.history_orders,
            HISTORY_ORDERS,
            nm=scale.memberships,
            ppm=ppm,
            unit="orders",
        )
        with timed("purchase stats"):
            cur.execute(PURCHASE_STATS)
        with timed("tiers from spend"):
            cur.execute(TIERS_FROM_SPEND)
        if _has_field(PointsAccount, "first_order_at"):
            with timed("first orders"):
                cur.execute(FIRST_ORDERS)
        _insert(cur, "coupons", scale.coupons, COUPONS, k=DATASET_COUPON_TEMPLATES)
        cur.execute(TEMPLATE_ISSUED_COUNTS)
        _engagement_events(scale)
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


def _session(cur, seed: int) -> None:
    seed = int(seed)
    cur.execute("DROP TABLE IF EXISTS pg_temp.bench_m, pg_temp.bench_a, pg_temp.bench_t")
    cur.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.bench_rand(n bigint, stream int) RETURNS bigint"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE"
        f" AS 'SELECT hashint8extended(n, {seed} * 1000 + stream) & 9223372036854775807'"
    )
    # Coupon codes: row n's code spells (n * an odd constant) mod 2**60 in the code
    # alphabet, 5 bits a character: a bijection, so codes are unique and look random.
    digits = " || ".join(
        f"substr('{CODE_ALPHABET}', 1 + ((x >> {5 * k}) & 31)::int, 1)" for k in range(CODE_LENGTH)
    )
    cur.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.bench_b32(x bigint) RETURNS text"
        f" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {digits} $$"
    )
    cur.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.bench_code(n bigint) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE"
        " AS $$ SELECT pg_temp.bench_b32(mod(n::numeric * 1000000000000000003, 2::numeric ^ 60)::bigint) $$"
    )


def _merchants(cur, scale: Scale) -> None:
    """Merchants through the onboarding service; tiers, accounts and programs with the ORM."""
    merchants = [
        merchant_onboard(slug=MERCHANT_SLUG.format(i), name=f"Bench merchant {i}")[0]
        for i in range(scale.merchants)
    ]
    Program.objects.filter(merchant__in=merchants).update(join_bonus_points=JOIN_BONUS)
    Tier.objects.bulk_create(
        Tier(merchant=m, name=name, rank=rank, min_spend_12m=spend, earn_multiplier=mult)
        for m in merchants
        for name, rank, spend, mult in TIERS
    )
    Account.objects.bulk_create(
        Account(merchant=m, handle=f"{m.slug}-koe-{k}", kind=Account.Kind.KOE, display_name=f"KOE {k}")
        for m in merchants
        for k in range(scale.koe_accounts_per_merchant)
    )
    # Lookup tables for this session: merchant by index, account by index.
    cur.execute(
        "CREATE TEMP TABLE bench_m (idx int PRIMARY KEY, merchant_id bigint, entry_tier_id bigint,"
        " first_product bigint)"
    )
    cur.execute(
        """
        INSERT INTO bench_m (idx, merchant_id, entry_tier_id, first_product)
        SELECT row_number() OVER (ORDER BY m.id) - 1, m.id, t.id, 0
        FROM members_merchant m JOIN members_tier t ON t.merchant_id = m.id AND t.rank = 0
        WHERE m.slug LIKE 'bench-%'
        """
    )
    cur.execute("UPDATE bench_m SET first_product = idx * %s + 1", [scale.products // scale.merchants])
    cur.execute("CREATE TEMP TABLE bench_a (idx int PRIMARY KEY, account_id bigint)")
    cur.execute(
        """
        INSERT INTO bench_a (idx, account_id)
        SELECT row_number() OVER (ORDER BY a.id) - 1, a.id
        FROM members_account a JOIN bench_m m ON m.merchant_id = a.merchant_id
        """
    )


def _coupon_templates(cur, scale: Scale) -> None:
    """Each merchant's templates through the service; ``bench_t`` maps (merchant, k) to them."""
    cur.execute("CREATE TEMP TABLE bench_t (merchant_id bigint, k int, template_id bigint)")
    skus = [f"SKU-{i:06d}" for i in range(TEMPLATE_PRODUCTS)]  # the first products of each merchant
    rows = []
    for merchant in Merchant.objects.filter(slug__startswith="bench-").order_by("id"):
        # The category scope takes the category of the merchant's first product: it has products.
        first = Product.objects.filter(merchant=merchant, sku=skus[0])
        category = first.values_list("category__slug", flat=True)
        for k, (name, terms) in enumerate(COUPON_TEMPLATES):
            terms = {"valid_days": 60, "per_member_limit": 10, **terms}
            if terms.get("scope") == CouponTemplate.Scope.CATEGORY:
                terms["category"] = category.get()
            elif terms.get("scope") == CouponTemplate.Scope.PRODUCTS:
                terms["products"] = skus
            template = coupon_template_create(merchant=merchant, name=name, **terms)
            rows.append((merchant.pk, k, template.pk))
    cur.executemany("INSERT INTO bench_t (merchant_id, k, template_id) VALUES (%s, %s, %s)", rows)


def _insert(cur, label: str, total: int, statement: str, *, unit: str = "rows", **params) -> None:
    chunk = max(1000, -(-total // 10))
    with Progress(label, total, unit=unit) as bar:
        for lo in range(1, total + 1, chunk):
            hi = min(total, lo + chunk - 1)
            cur.execute(statement, {"lo": lo, "hi": hi, **params})
            bar.advance(hi - lo + 1)


def _engagement_events(scale: Scale) -> None:
    try:
        apps.get_model("members", "EngagementEvent")
    except LookupError:
        say(
            f"  {'engagement events':<22} SKIPPED: {scale.engagement_events:,} events not generated;"
            " the engagement model is not built yet"
        )
        return
    say(
        f"  {'engagement events':<22} SKIPPED: the EngagementEvent model exists, but the dataset does"
        " not generate its events yet: add them here with its benchmark"
    )


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _vacuum_analyze() -> None:
    """Fresh statistics and visibility maps, so the first benchmark does not pay for them."""
    with connection.cursor() as cur:
        tables = [
            *EXPLICIT_ID_TABLES,
            "storefront_purchasestat",
            "members_merchant",
            "members_tier",
            "coupons_coupontemplate",
        ]
        if connection.in_atomic_block:  # inside a test's transaction: VACUUM is not allowed
            cur.execute(f"ANALYZE {', '.join(tables)}")
        else:
            cur.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


# --- Statements; %(lo)s..%(hi)s is the chunk of row numbers ------------------------
# (mod() rather than the % operator, which would need escaping beside the parameters)

CATEGORIES = """
INSERT INTO storefront_category (id, merchant_id, slug, name)
SELECT g, m.merchant_id, 'bench-cat-' || (1 + mod(g - 1, %(c)s)), 'Category ' || (1 + mod(g - 1, %(c)s))
FROM generate_series(%(lo)s, %(hi)s) g
JOIN bench_m m ON m.idx = (g - 1) / %(c)s
"""

PRODUCTS = """
INSERT INTO storefront_product
    (id, merchant_id, sku, title, category_id, tags, price, published_at, created_at, updated_at)
SELECT g, m.merchant_id,
       'SKU-' || lpad(mod(g - 1, %(ppm)s)::text, 6, '0'),
       'Product ' || g,
       m.idx * %(c)s + 1 + mod(pg_temp.bench_rand(g, 1), %(c)s),
       jsonb_build_array('tag-' || mod(pg_temp.bench_rand(g, 2), 30)),
       (100 + mod(pg_temp.bench_rand(g, 3), 19900)) / 100.0,
       now() - make_interval(days => mod(pg_temp.bench_rand(g, 4), 365)::int),
       now(), now()
FROM generate_series(%(lo)s, %(hi)s) g
JOIN bench_m m ON m.idx = (g - 1) / %(ppm)s
"""

SHOPPERS = """
INSERT INTO members_shopper (id, external_id, display_name, created_at)
SELECT g, 'bench-shopper-' || lpad(g::text, 7, '0'), 'Shopper ' || g,
       now() - make_interval(days => mod(pg_temp.bench_rand(g, 5), 1000)::int)
FROM generate_series(%(lo)s, %(hi)s) g
"""

# Membership k: shopper s = (k - 1) / 2 + 1 joins merchants s mod M and (s + 1) mod M;
# numbers 2 * ((s - 1) / M) + j + 1 are unique per merchant.
MEMBERSHIPS = """
INSERT INTO members_membership (id, shopper_id, merchant_id, number, tier_id, status, joined_at)
SELECT k.k, k.s, m.merchant_id, 2 * ((k.s - 1) / %(m)s) + k.j + 1, m.entry_tier_id, 'active',
       now() - make_interval(days => mod(pg_temp.bench_rand(k.k, 6), 700)::int)
FROM (SELECT g AS k, (g - 1) / 2 + 1 AS s, mod(g - 1, 2) AS j FROM generate_series(%(lo)s, %(hi)s) g) k
JOIN bench_m m ON m.idx = mod(k.s + k.j, %(m)s)
"""

LAST_MEMBER_NUMBER = """
UPDATE members_merchant SET last_member_number = x.n
FROM (SELECT merchant_id, max(number) AS n FROM members_membership GROUP BY merchant_id) x
WHERE members_merchant.id = x.merchant_id
"""

# Each account holds its join bonus and one earned lot: balance == sum(delta) == sum(remaining).
EARNED = "(1 + mod(pg_temp.bench_rand(g, 7), 500))"

POINTS_ACCOUNTS = f"""
INSERT INTO loyalty_pointsaccount (id, membership_id, balance, lifetime_earned, join_bonus_at, updated_at)
SELECT g, g, %(bonus)s + {EARNED}, %(bonus)s + {EARNED}, now() - interval '30 days', now()
FROM generate_series(%(lo)s, %(hi)s) g
"""

POINTS_ENTRIES = f"""
INSERT INTO loyalty_pointsentry (id, account_id, delta, kind, reason, expires_at, remaining, created_at)
SELECT e, g,
       CASE WHEN b THEN %(bonus)s ELSE {EARNED} END,
       CASE WHEN b THEN 'bonus' ELSE 'earn' END,
       CASE WHEN b THEN 'join bonus' ELSE 'opening balance' END,
       now() + interval '335 days',
       CASE WHEN b THEN %(bonus)s ELSE {EARNED} END,
       now() - CASE WHEN b THEN interval '30 days' ELSE interval '1 day' END
FROM (SELECT e, (e + 1) / 2 AS g, mod(e, 2) = 1 AS b FROM generate_series(%(lo)s, %(hi)s) e) x
"""

# Follow f: shopper mod(f - 1, S) + 1 follows an account picked by its hash; a shopper's
# r-th follow takes the next account, so pairs stay unique. About 10% are iron fans.
FOLLOWS = """
INSERT INTO members_follow
    (id, shopper_id, account_id, created_at, score, score_at, iron_fan, iron_fan_since)
SELECT x.f, x.s, a.account_id, now() - make_interval(days => mod(pg_temp.bench_rand(x.f, 8), 700)::int),
       CASE WHEN x.iron THEN 20 + mod(pg_temp.bench_rand(x.f, 9), 80) ELSE mod(pg_temp.bench_rand(x.f, 9), 20)
       END::float8,
       now(), x.iron, CASE WHEN x.iron THEN now() - interval '10 days' END
FROM (SELECT g AS f, mod(g - 1, %(s)s) + 1 AS s, (g - 1) / %(s)s AS r,
             mod(pg_temp.bench_rand(g, 10), 10) = 0 AS iron
      FROM generate_series(%(lo)s, %(hi)s) g) x
JOIN bench_a a ON a.idx = mod(pg_temp.bench_rand(x.s, 11) + x.r, %(a)s)
"""

# Order o: a membership picked by hash; three consecutive products from a window the
# shopper favours (so products come back and "frequently purchased" has repeats).
HISTORY_ORDERS = """
WITH o AS (
    SELECT g AS id, ms.shopper_id, ms.merchant_id, m.first_product,
           mod(pg_temp.bench_rand(ms.shopper_id, 12), %(ppm)s)
               + 3 * mod(pg_temp.bench_rand(g, 13), 5) AS base,
           now() - make_interval(days => mod(pg_temp.bench_rand(g, 14), 365)::int,
                                 secs => mod(pg_temp.bench_rand(g, 15), 86400)::int) AS paid_at
    FROM generate_series(%(lo)s, %(hi)s) g
    JOIN members_membership ms ON ms.id = 1 + mod(pg_temp.bench_rand(g, 16), %(nm)s)
    JOIN bench_m m ON m.merchant_id = ms.merchant_id
), l AS (
    SELECT o.id AS order_id, 3 * (o.id - 1) + j + 1 AS id, p.id AS product_id, p.price,
           1 + mod(pg_temp.bench_rand(3 * o.id + j, 17), 3) AS quantity
    FROM o CROSS JOIN generate_series(0, 2) j
    JOIN storefront_product p ON p.id = o.first_product + mod(o.base + j, %(ppm)s)
), lines AS (
    INSERT INTO storefront_orderline (id, order_id, product_id, quantity, unit_price, refunded_quantity)
    SELECT id, order_id, product_id, quantity, price, 0 FROM l
)
INSERT INTO storefront_order
    (id, merchant_id, shopper_id, external_id, subtotal, discount, total, refunded_amount,
     points_earned, points_reversed, status, paid_at, created_at, payload_hash, response)
SELECT o.id, o.merchant_id, o.shopper_id, 'bench-hist-' || o.id, t.subtotal, 0, t.subtotal, 0, 0, 0,
       'paid', o.paid_at, o.paid_at, md5(o.id::text) || md5('bench' || o.id),
       jsonb_build_object('external_id', 'bench-hist-' || o.id, 'subtotal', t.subtotal::text,
                          'discount', '0.00', 'total', t.subtotal::text, 'points_earned', 0,
                          'coupons_redeemed', '[]'::jsonb, 'coupons_issued', '[]'::jsonb)
FROM o JOIN (SELECT order_id, sum(quantity * price) AS subtotal FROM l GROUP BY order_id) t
    ON t.order_id = o.id
"""

PURCHASE_STATS = """
INSERT INTO storefront_purchasestat
    (shopper_id, product_id, merchant_id, times_purchased, quantity, first_purchased_at, last_purchased_at)
SELECT o.shopper_id, l.product_id, o.merchant_id, count(*), sum(l.quantity), min(o.paid_at), max(o.paid_at)
FROM storefront_orderline l JOIN storefront_order o ON o.id = l.order_id
GROUP BY o.shopper_id, l.product_id, o.merchant_id
"""

# Members whose past 12 months of spend reach a higher tier are in it, as the pipeline would have it.
TIERS_FROM_SPEND = """
UPDATE members_membership ms SET tier_id = x.tier_id
FROM (
    SELECT DISTINCT ON (s.merchant_id, s.shopper_id) s.merchant_id, s.shopper_id, t.id AS tier_id
    FROM (SELECT merchant_id, shopper_id, sum(total) AS spend FROM storefront_order
          WHERE paid_at >= now() - interval '365 days' GROUP BY merchant_id, shopper_id) s
    JOIN members_tier t ON t.merchant_id = s.merchant_id AND t.min_spend_12m <= s.spend
    ORDER BY s.merchant_id, s.shopper_id, t.rank DESC
) x
WHERE ms.merchant_id = x.merchant_id AND ms.shopper_id = x.shopper_id AND ms.tier_id <> x.tier_id
"""

# Members who bought before have had their first order (repurchase coupons key on it).
FIRST_ORDERS = """
UPDATE loyalty_pointsaccount pa SET first_order_at = x.first
FROM (SELECT ms.id AS membership_id, min(o.paid_at) AS first
      FROM storefront_order o
      JOIN members_membership ms ON ms.merchant_id = o.merchant_id AND ms.shopper_id = o.shopper_id
      GROUP BY ms.id) x
WHERE pa.membership_id = x.membership_id
"""

# Coupon c belongs to membership c (so every member shopper holds one or two), of one
# of the merchant's first three templates by hash, issued within the last 20 days as
# a campaign would: 70% issued and usable, 15% redeemed, 10% expired, and 5% issued but
# past their date (the nightly job has not marked them yet).
COUPONS = """
INSERT INTO coupons_coupon
    (id, template_id, merchant_id, shopper_id, code, state, source, order_id,
     issued_at, valid_from, expires_at, redeemed_at)
SELECT x.c, t.template_id, ms.merchant_id, ms.shopper_id, pg_temp.bench_code(x.c),
       CASE WHEN x.r < 14 OR x.r = 19 THEN 'issued' WHEN x.r < 17 THEN 'redeemed' ELSE 'expired' END,
       'campaign', NULL, x.issued_at, NULL, x.issued_at + interval '30 days',
       CASE WHEN x.r BETWEEN 14 AND 16 THEN x.issued_at + (now() - x.issued_at) / 2 END
FROM (SELECT g AS c, mod(pg_temp.bench_rand(g, 20), 20) AS r,
             now() - CASE WHEN mod(pg_temp.bench_rand(g, 20), 20) < 17
                          THEN make_interval(days => mod(pg_temp.bench_rand(g, 21), 20)::int, hours => 1)
                          ELSE make_interval(days => 40 + mod(pg_temp.bench_rand(g, 21), 100)::int) END
                 AS issued_at
      FROM generate_series(%(lo)s, %(hi)s) g) x
JOIN members_membership ms ON ms.id = x.c
JOIN bench_t t ON t.merchant_id = ms.merchant_id AND t.k = mod(pg_temp.bench_rand(x.c, 22), %(k)s)
"""

TEMPLATE_ISSUED_COUNTS = """
UPDATE coupons_coupontemplate ct SET issued_count = x.n
FROM (SELECT template_id, count(*) AS n FROM coupons_coupon GROUP BY template_id) x
WHERE ct.id = x.template_id
"""
