"""Per-run handles on the dataset: the merchant under test, its key, members, tokens.

Cheap (a few thousand rows at most, the bulk of them set-based), so it runs on every
invocation, also when the dataset itself is reused. Plain keys and tokens exist only in memory.

The coupon benchmarks get theirs here too: the *coverage* of the merchant's coupon
templates (the products each applies to), *newcomers* (members made for this run who
have never ordered, each holding one unused coupon, the templates in turn: their
first order redeems it and earns the repurchase coupon), *carts* (members with a
usable coupon from the dataset and three lines it applies to, for the dry-run
validation) and the heavy shopper's coupons (more usable ones than a page).
"""

import dataclasses
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from benchmarks.dataset import JOIN_BONUS, MERCHANT_SLUG, REPURCHASE_TEMPLATE
from benchmarks.progress import timed
from benchmarks.scales import Scale
from coupons.models import CouponTemplate
from coupons.services.issuing import coupon_code_new
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from members.models import Account, Follow, Merchant, MerchantAPIKey, Shopper
from storefront.models import Order, Preference, Product

HEAVY_SHOPPER = "bench-heavy"
HEAVY_ORDERS = 60  # more ledger entries than a page (50), and a long frequently-purchased list
HEAVY_PRODUCT_WINDOW = 120
HEAVY_COUPONS = 60  # usable ones, more than a page (50)
# Issue 13's feed target: a shopper following 500 accounts spread over every bench
# merchant (so the feed spans all the dataset's products), with ten preferences.
FEED_SHOPPER = "bench-feed"
FEED_ACCOUNTS = 500
FEED_PREFERENCES = 10
CART_LINES = 3


@dataclass(frozen=True)
class Member:
    external_id: str
    shopper_id: int
    points_account_id: int


@dataclass(frozen=True)
class Reader:
    """A shopper with an API token and one merchant they are a member of."""

    external_id: str
    token: str
    merchant_slug: str


# A line of a benchmark order or cart: (sku, product_id, quantity, unit_price).
Line = tuple[str, int, int, Decimal]


@dataclass(frozen=True)
class Coverage:
    """A coupon template of the merchant under test and the products it applies to."""

    template_id: int
    scope: str  # all, category or products
    min_spend: Decimal
    products: tuple[tuple[str, Decimal, int], ...]  # (sku, price, id) in scope

    def lines(self, rng: random.Random, catalog: list[tuple[str, Decimal, int]]) -> tuple[Line, ...]:
        """Three lines: one in scope, over the min spend on its own, and two others."""
        for _ in range(100):  # bounded: draw again until the line in scope reaches the min spend
            first = rng.choice(self.products)
            others = [p for p in rng.sample(catalog, CART_LINES) if p[2] != first[2]][: CART_LINES - 1]
            lines = tuple((sku, pid, rng.randint(1, 3), price) for sku, price, pid in [first, *others])
            if lines[0][2] * lines[0][3] >= self.min_spend:
                return lines
        raise ValueError(f"no line of template {self.template_id} reaches its min spend {self.min_spend}")


@dataclass(frozen=True)
class Newcomer:
    """A member of the merchant under test who has never ordered, holding one unused coupon."""

    member: Member
    coupon_code: str
    template_id: int


@dataclass(frozen=True)
class Cart:
    """A member's usable coupon and three lines it applies to (``POST coupons/validate``)."""

    shopper: str
    coupon_code: str
    scope: str  # the coupon's template scope: all, category or products
    lines: tuple[Line, ...]

    def as_json(self) -> dict:
        return {
            "shopper": self.shopper,
            "lines": [
                {"sku": sku, "quantity": q, "unit_price": str(price)} for sku, _, q, price in self.lines
            ],
            "coupon_codes": [self.coupon_code],
        }


@dataclass
class Fixtures:
    merchant: Merchant
    api_key: str
    products: list[tuple[str, Decimal, int]]  # (sku, price, id) of the merchant under test
    members: list[Member]  # members of the merchant under test, who place the benchmark's orders
    readers: list[Reader]  # typical shoppers
    heavy: Reader  # a shopper with more rows than a page everywhere
    feed: Reader | None = None  # follows FEED_ACCOUNTS accounts of every merchant (issue 13)
    coverage: dict[int, Coverage] = field(default_factory=dict)  # by template id (not the repurchase one)
    newcomers: list[Newcomer] = field(default_factory=list)  # first orders with a coupon
    carts: list[Cart] = field(default_factory=list)  # dry runs of the coupon rules
    run_id: str = field(default_factory=lambda: str(int(time.time())))
    round_no: int = 0  # the round of the benchmark being run (``--repeat``), from 0


def fixtures_next_round(data: Fixtures) -> Fixtures:
    """The fixtures for a benchmark's next round: the same handles, a run id of its own
    (so the round's order ids are new) and new newcomers if the last round placed their
    first orders (one query to tell, one statement to make them)."""
    round_no = data.round_no + 1
    base = data.run_id if data.round_no == 0 else data.run_id.rsplit("r", 1)[0]
    run_id = f"{base}r{round_no}"
    newcomers = data.newcomers
    if newcomers and Order.objects.filter(shopper_id=newcomers[0].member.shopper_id).exists():
        newcomers = _newcomers(
            merchant=data.merchant, run_id=run_id, templates=sorted(data.coverage), count=len(newcomers)
        )
    return dataclasses.replace(data, run_id=run_id, round_no=round_no, newcomers=newcomers)


def fixtures_prepare(*, scale: Scale, seed: int) -> Fixtures:
    with timed("run fixtures"):
        merchant = Merchant.objects.get(slug=MERCHANT_SLUG.format(0))
        _, api_key = MerchantAPIKey.objects.create_key(merchant=merchant, name="benchmark run")
        products = list(
            Product.objects.filter(merchant=merchant).order_by("id").values_list("sku", "price", "id")
        )
        wanted = scale.service_orders + scale.query_count_orders
        members = [Member(*row) for row in _fetch(MEMBERS, [merchant.pk, seed, wanted])]
        readers = _readers(rows=_fetch(READERS, [seed, scale.sample_shoppers]))
        heavy = _heavy_shopper(merchant=merchant, products=products)
        feed = _feed_shopper(merchant=merchant)
        run_id = str(int(time.time()))
        coverage = _coverage(merchant=merchant)
        newcomers = _newcomers(
            merchant=merchant,
            run_id=run_id,
            templates=sorted(coverage),
            count=2 * scale.coupon_orders + scale.query_count_orders,
        )
        carts = _carts(
            merchant=merchant, seed=seed, count=scale.sample_shoppers, coverage=coverage, catalog=products
        )
    return Fixtures(
        merchant=merchant,
        api_key=api_key,
        products=products,
        members=members,
        readers=readers,
        heavy=heavy,
        feed=feed,
        coverage=coverage,
        newcomers=newcomers,
        carts=carts,
        run_id=run_id,
    )


def _fetch(statement: str, params: list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def _readers(*, rows: list[tuple]) -> list[Reader]:
    """Log the sampled shoppers in: a user (no usable password) and a knox token each."""
    User = get_user_model()
    existing = {u.username: u for u in User.objects.filter(username__in=[r[0] for r in rows])}
    new = [User(username=external_id) for external_id, _ in rows if external_id not in existing]
    for user in new:
        user.set_unusable_password()
    User.objects.bulk_create(new)
    users = {u.username: u for u in User.objects.filter(username__in=[r[0] for r in rows])}
    for external_id, _ in rows:
        Shopper.objects.filter(external_id=external_id, user__isnull=True).update(user=users[external_id])
    return [
        Reader(
            external_id=external_id,
            token=AuthToken.objects.create(user=users[external_id])[1],
            merchant_slug=slug,
        )
        for external_id, slug in rows
    ]


def _heavy_shopper(*, merchant: Merchant, products) -> Reader:
    """A member of every merchant with 60 orders at the merchant under test (made once)."""
    shopper, created = Shopper.objects.get_or_create(
        external_id=HEAVY_SHOPPER, defaults={"display_name": "Heavy"}
    )
    if created or not Order.objects.filter(shopper=shopper).exists():
        for other in Merchant.objects.filter(slug__startswith="bench-"):
            membership_enrol(shopper=shopper, merchant=other)
        window = products[:HEAVY_PRODUCT_WINDOW]
        for i in range(HEAVY_ORDERS):
            picks = [window[(i * 7 + j) % len(window)] for j in range(3)]
            purchase_record(
                merchant=merchant,
                order=OrderInput(
                    external_id=f"{HEAVY_SHOPPER}-{i}",
                    shopper=HEAVY_SHOPPER,
                    lines=tuple(
                        OrderLineInput(sku=sku, quantity=1, unit_price=price) for sku, price, _ in picks
                    ),
                ),
            )
    if not shopper.coupons.exists():
        codes = [coupon_code_new() for _ in range(HEAVY_COUPONS)]
        with connection.cursor() as cur:
            cur.execute(
                HEAVY_COUPONS_SQL, {"shopper": shopper.pk, "codes": codes, "repurchase": REPURCHASE_TEMPLATE}
            )
            cur.execute(ISSUED_COUNTS_BUMP, {"shopper": shopper.pk, "since": 0})
    return _readers(rows=[(HEAVY_SHOPPER, merchant.slug)])[0]


def _feed_shopper(*, merchant: Merchant) -> Reader:
    """A shopper following FEED_ACCOUNTS accounts, made for it, of every bench merchant in
    turn, with FEED_PREFERENCES preferences (categories and tags of the dataset); made once."""
    shopper, created = Shopper.objects.get_or_create(
        external_id=FEED_SHOPPER, defaults={"display_name": "Feed"}
    )
    if created or not shopper.follows.exists():
        merchants = list(Merchant.objects.filter(slug__startswith="bench-").order_by("id"))
        accounts = Account.objects.bulk_create(
            Account(
                merchant=merchants[k % len(merchants)],
                handle=f"{FEED_SHOPPER}-{k}",
                kind=Account.Kind.KOE,
                display_name=f"Feed KOE {k}",
            )
            for k in range(FEED_ACCOUNTS)
        )
        Follow.objects.bulk_create(Follow(shopper=shopper, account=a) for a in accounts)
        now = timezone.now()
        Preference.objects.bulk_create(
            Preference(
                shopper=shopper,
                kind=Preference.Kind.CATEGORY if k % 2 else Preference.Kind.TAG,
                slug=f"bench-cat-{1 + k}" if k % 2 else f"tag-{k}",
                weight=1.0 / (1 + k),
                updated_at=now,
            )
            for k in range(FEED_PREFERENCES)
        )
    return _readers(rows=[(FEED_SHOPPER, merchant.slug)])[0]


def _coverage(*, merchant: Merchant) -> dict[int, Coverage]:
    """The merchant's coupon templates but the repurchase one, with the products each applies to."""
    catalog = list(
        Product.objects.filter(merchant=merchant)
        .order_by("id")
        .values_list("sku", "price", "id", "category_id")
    )
    templates = (
        CouponTemplate.objects.filter(merchant=merchant).exclude(name=REPURCHASE_TEMPLATE).order_by("id")
    )
    listed: dict[int, set[int]] = {}
    for template_id, product_id in CouponTemplate.products.through.objects.filter(
        coupontemplate__in=templates
    ).values_list("coupontemplate_id", "product_id"):
        listed.setdefault(template_id, set()).add(product_id)
    coverage = {}
    for t in templates:
        products = tuple(
            (sku, price, pid)
            for sku, price, pid, category_id in catalog
            if t.scope == CouponTemplate.Scope.ALL
            or (t.scope == CouponTemplate.Scope.CATEGORY and category_id == t.category_id)
            or (t.scope == CouponTemplate.Scope.PRODUCTS and pid in listed.get(t.pk, ()))
        )
        coverage[t.pk] = Coverage(template_id=t.pk, scope=t.scope, min_spend=t.min_spend, products=products)
    return coverage


def _newcomers(*, merchant: Merchant, run_id: str, templates: list[int], count: int) -> list[Newcomer]:
    """``count`` new members of ``merchant`` (join bonus paid, no order yet), one coupon each,
    of ``templates`` in turn.

    One statement: shoppers, memberships (numbers from the merchant's counter),
    points accounts with their join-bonus lot, and the coupons.
    """
    codes = [coupon_code_new() for _ in range(count)]
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM coupons_coupon")
        since = cur.fetchone()[0]
        cur.execute(
            NEWCOMERS,
            {
                "merchant": merchant.pk,
                "prefix": f"bench-new-{run_id}-",
                "codes": codes,
                "templates": templates,
                "bonus": JOIN_BONUS,
            },
        )
        rows = cur.fetchall()
        cur.execute(ISSUED_COUNTS_BUMP, {"shopper": None, "since": since})
    return [
        Newcomer(Member(external_id, shopper_id, account_id), code, template_id)
        for external_id, shopper_id, account_id, code, template_id in rows
    ]


def _carts(
    *, merchant: Merchant, seed: int, count: int, coverage: dict[int, Coverage], catalog: list
) -> list[Cart]:
    """Members holding a usable coupon of ``merchant`` from the dataset (a third of each
    scope), each with three lines: one the coupon covers and two others, over its min spend."""
    rng = random.Random(f"{seed}:carts")
    return [
        Cart(
            shopper=external_id,
            coupon_code=code,
            scope=coverage[template_id].scope,
            lines=coverage[template_id].lines(rng, catalog),
        )
        for external_id, code, template_id in _fetch(CARTS, [seed, merchant.pk, -(-count // 3), count])
    ]


# Members of the merchant under test, in a fixed pseudo-random order.
MEMBERS = """
SELECT s.external_id, s.id, pa.id
FROM members_membership ms
JOIN members_shopper s ON s.id = ms.shopper_id
JOIN loyalty_pointsaccount pa ON pa.membership_id = ms.id
WHERE ms.merchant_id = %s AND ms.status = 'active' AND s.external_id LIKE 'bench-shopper-%%'
ORDER BY hashint8extended(ms.id, %s)
LIMIT %s
"""

# Shoppers with past orders (so every read has rows), with one merchant they belong to.
READERS = """
SELECT s.external_id, m.slug
FROM (SELECT DISTINCT ON (shopper_id) shopper_id, merchant_id FROM storefront_order
      WHERE external_id LIKE 'bench-hist-%%' ORDER BY shopper_id, merchant_id) o
JOIN members_shopper s ON s.id = o.shopper_id
JOIN members_merchant m ON m.id = o.merchant_id
ORDER BY hashint8extended(o.shopper_id, %s)
LIMIT %s
"""

# The heavy shopper's coupons: HEAVY_COUPONS usable ones, spread over every bench
# merchant's dataset templates (at most per_member_limit of each, as issuing allows).
HEAVY_COUPONS_SQL = """
WITH t AS (
    SELECT ct.id, ct.merchant_id, row_number() OVER (ORDER BY ct.id) - 1 AS i, count(*) OVER () AS n
    FROM coupons_coupontemplate ct JOIN members_merchant m ON m.id = ct.merchant_id
    WHERE m.slug LIKE 'bench-%%' AND ct.name <> %(repurchase)s
)
INSERT INTO coupons_coupon
    (template_id, merchant_id, shopper_id, code, state, source, issued_at, expires_at)
SELECT t.id, t.merchant_id, %(shopper)s, c.code, 'issued', 'campaign',
       now() - make_interval(hours => c.g::int), now() + make_interval(days => 10 + c.g::int)
FROM unnest(%(codes)s::text[]) WITH ORDINALITY AS c(code, g)
JOIN t ON t.i = mod(c.g, t.n)
"""

# Keep each template's issued_count equal to its coupons after inserting some directly.
ISSUED_COUNTS_BUMP = """
UPDATE coupons_coupontemplate ct SET issued_count = ct.issued_count + x.n
FROM (SELECT template_id, count(*) AS n FROM coupons_coupon
      WHERE id > %(since)s AND (%(shopper)s::bigint IS NULL OR shopper_id = %(shopper)s::bigint)
      GROUP BY template_id) x
WHERE ct.id = x.template_id
"""

NEWCOMERS = """
WITH c AS (
    SELECT code, g::int FROM unnest(%(codes)s::text[]) WITH ORDINALITY AS c(code, g)
), counter AS (
    UPDATE members_merchant SET last_member_number = last_member_number + (SELECT count(*) FROM c)
    WHERE id = %(merchant)s
    RETURNING last_member_number - (SELECT count(*) FROM c) AS base
), s AS (
    INSERT INTO members_shopper (external_id, display_name, created_at)
    SELECT %(prefix)s || c.g, 'Newcomer ' || c.g, now() FROM c
    RETURNING id, external_id
), n AS (
    SELECT s.id, s.external_id, c.code, c.g,
           (%(templates)s::bigint[])[1 + mod(c.g - 1, cardinality(%(templates)s::bigint[]))] AS template_id
    FROM s JOIN c ON s.external_id = %(prefix)s || c.g
), ms AS (
    INSERT INTO members_membership (shopper_id, merchant_id, number, tier_id, status, joined_at)
    SELECT n.id, %(merchant)s, counter.base + n.g,
           (SELECT id FROM members_tier WHERE merchant_id = %(merchant)s AND min_spend_12m = 0
            ORDER BY rank DESC LIMIT 1),
           'active', now()
    FROM n CROSS JOIN counter
    RETURNING id, shopper_id
), pa AS (
    INSERT INTO loyalty_pointsaccount (membership_id, balance, lifetime_earned, join_bonus_at, updated_at)
    SELECT id, %(bonus)s, %(bonus)s, now(), now() FROM ms
    RETURNING id, membership_id
), bonus AS (
    INSERT INTO loyalty_pointsentry (account_id, delta, kind, reason, expires_at, remaining, created_at)
    SELECT pa.id, %(bonus)s, 'bonus', 'join bonus', now() + interval '365 days', %(bonus)s, now() FROM pa
), coupon AS (
    INSERT INTO coupons_coupon
        (template_id, merchant_id, shopper_id, code, state, source, issued_at, expires_at)
    SELECT n.template_id, %(merchant)s, n.id, n.code, 'issued', 'manual', now(), now() + interval '30 days'
    FROM n
)
SELECT n.external_id, n.id, pa.id, n.code, n.template_id
FROM n JOIN ms ON ms.shopper_id = n.id JOIN pa ON pa.membership_id = ms.id
ORDER BY n.g
"""

# Usable dataset coupons of the merchant under test, the same number of each template
# scope (so the validation meets each rule), in a fixed pseudo-random order.
CARTS = """
SELECT external_id, code, template_id FROM (
    SELECT s.external_id, c.code, c.template_id,
           row_number() OVER (PARTITION BY t.scope ORDER BY hashint8extended(c.id, %s)) AS r
    FROM coupons_coupon c
    JOIN coupons_coupontemplate t ON t.id = c.template_id
    JOIN members_shopper s ON s.id = c.shopper_id
    WHERE c.merchant_id = %s AND c.state = 'issued' AND c.expires_at > now() + interval '1 day'
      AND c.source = 'campaign' AND s.external_id LIKE 'bench-shopper-%%'
) x
WHERE r <= %s
ORDER BY r, code
LIMIT %s
"""
