"""The rows that go through the services and the ORM (a few dozen), and the session's SQL helpers.

``session_prepare`` defines ``pg_temp.bench_rand`` (the seeded hash every generated
value comes from) and ``pg_temp.bench_code`` (unique coupon codes); ``merchants_make``
and ``coupon_templates_make`` leave the lookup tables ``bench_m`` (merchant by
index), ``bench_a`` (account by index) and ``bench_t`` (template by merchant and
index) that the set-based statements of ``rows`` join.
"""

from decimal import Decimal

from benchmarks.scales import Scale
from coupons.models import CODE_ALPHABET, CODE_LENGTH, CouponTemplate
from coupons.services.templates import coupon_template_create
from loyalty.models import Program
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


def session_prepare(cur, seed: int) -> None:
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


def merchants_make(cur, scale: Scale) -> None:
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


def coupon_templates_make(cur, scale: Scale) -> None:
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
