"""Per-run handles on the dataset: the merchant under test, its key, members, tokens.

Cheap (a few hundred rows at most), so it runs on every invocation, also when the
dataset itself is reused. Plain keys and tokens exist only in memory.
"""

import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from knox.models import AuthToken

from benchmarks.dataset import MERCHANT_SLUG
from benchmarks.progress import timed
from benchmarks.scales import Scale
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from members.models import Merchant, MerchantAPIKey, Shopper
from storefront.models import Order, Product

HEAVY_SHOPPER = "bench-heavy"
HEAVY_ORDERS = 60  # more ledger entries than a page (50), and a long frequently-purchased list
HEAVY_PRODUCT_WINDOW = 120


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


@dataclass
class Fixtures:
    merchant: Merchant
    api_key: str
    products: list[tuple[str, Decimal, int]]  # (sku, price, id) of the merchant under test
    members: list[Member]  # members of the merchant under test, who place the benchmark's orders
    readers: list[Reader]  # typical shoppers
    heavy: Reader  # a shopper with more rows than a page everywhere
    run_id: str = field(default_factory=lambda: str(int(time.time())))


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
    return Fixtures(
        merchant=merchant, api_key=api_key, products=products, members=members, readers=readers, heavy=heavy
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
    return _readers(rows=[(HEAVY_SHOPPER, merchant.slug)])[0]


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
