"""The set-based statements of the dataset: one ``INSERT ... SELECT generate_series(...)``
per chunk of rows, every value from ``pg_temp.bench_rand`` (see ``reference``).

``%(lo)s..%(hi)s`` is the chunk of row numbers; ``mod()`` rather than the ``%`` operator,
which would need escaping beside the parameters.
"""

from benchmarks.progress import Progress

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


def insert_chunked(cur, label: str, total: int, statement: str, *, unit: str = "rows", **params) -> None:
    chunk = max(1000, -(-total // 10))
    with Progress(label, total, unit=unit) as bar:
        for lo in range(1, total + 1, chunk):
            hi = min(total, lo + chunk - 1)
            cur.execute(statement, {"lo": lo, "hi": hi, **params})
            bar.advance(hi - lo + 1)


CATEGORIES = """
INSERT INTO storefront_category (id, merchant_id, slug, name)
SELECT g, m.merchant_id, 'bench-cat-' || (1 + mod(g - 1, %(c)s)), 'Category ' || (1 + mod(g - 1, %(c)s))
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
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
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
JOIN bench_m m ON m.idx = (g - 1) / %(ppm)s
"""

SHOPPERS = """
INSERT INTO members_shopper (id, external_id, display_name, created_at)
SELECT g, 'bench-shopper-' || lpad(g::text, 7, '0'), 'Shopper ' || g,
       now() - make_interval(days => mod(pg_temp.bench_rand(g, 5), 1000)::int)
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
"""

# Membership k: shopper s = (k - 1) / 2 + 1 joins merchants s mod M and (s + 1) mod M;
# numbers 2 * ((s - 1) / M) + j + 1 are unique per merchant.
MEMBERSHIPS = """
INSERT INTO members_membership (id, shopper_id, merchant_id, number, tier_id, status, joined_at)
SELECT k.k, k.s, m.merchant_id, 2 * ((k.s - 1) / %(m)s) + k.j + 1, m.entry_tier_id, 'active',
       now() - make_interval(days => mod(pg_temp.bench_rand(k.k, 6), 700)::int)
FROM (SELECT g AS k, (g - 1) / 2 + 1 AS s, mod(g - 1, 2) AS j
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g) k
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
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
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
FROM (SELECT e, (e + 1) / 2 AS g, mod(e, 2) = 1 AS b FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) e) x
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
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g) x
JOIN bench_a a ON a.idx = mod(pg_temp.bench_rand(x.s, 11) + x.r, %(a)s)
"""

# Members who are iron fans of one of the merchant's accounts carry the flag, as the
# recompute job leaves it (members.iron_fan_flags).
MEMBERSHIP_IRON_FANS = """
UPDATE members_membership ms SET iron_fan = TRUE
FROM (SELECT DISTINCT f.shopper_id, a.merchant_id
      FROM members_follow f JOIN members_account a ON a.id = f.account_id WHERE f.iron_fan) x
WHERE ms.shopper_id = x.shopper_id AND ms.merchant_id = x.merchant_id
"""

# Each account's fans and iron fans, as members.fan_counts keeps them from here on.
ACCOUNT_FAN_COUNTS = """
INSERT INTO members_accountfancount (account_id, fans, iron_fans)
SELECT account_id, COUNT(*), COUNT(*) FILTER (WHERE iron_fan) FROM members_follow GROUP BY account_id
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
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
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
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g) x
JOIN members_membership ms ON ms.id = x.c
JOIN bench_t t ON t.merchant_id = ms.merchant_id AND t.k = mod(pg_temp.bench_rand(x.c, 22), %(k)s)
"""

TEMPLATE_ISSUED_COUNTS = """
UPDATE coupons_coupontemplate ct SET issued_count = x.n
FROM (SELECT template_id, count(*) AS n FROM coupons_coupon GROUP BY template_id) x
WHERE ct.id = x.template_id
"""
