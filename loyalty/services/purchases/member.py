"""The member behind an order, with everything else the order reads, in one statement.

One fixed SQL string a database (built once per process, nothing for the ORM to
compile per order): the shopper's points account and membership with this merchant,
**locked** (``FOR UPDATE OF`` both on PostgreSQL: the membership's lock is the one
every coupon issue to this shopper takes, so the repurchase coupon respects the
per-member limit; the account's guards the ledger), with in the same row the shopper,
the tier, the merchant's program and its repurchase template, the brand account and
whether the shopper follows it (the order's attribution), the merchant's top tier
rank (the tier check), and the order's products by sku as a JSON array. On SQLite,
which has no row locks (one writer at a time, ``BEGIN IMMEDIATE``), the order's
coupons come in the same row too; PostgreSQL locks them in a statement of their own,
after the account (the lock order of ``core.locks``).
"""

import json
from dataclasses import dataclass

from django.db import connection

from coupons.models import Coupon, CouponTemplate
from loyalty.models import PointsAccount, Program
from loyalty.services.memberships import points_account_open, program_get_or_create
from loyalty.services.purchases.rows import Columns
from members.models import Account, Follow, Membership, Merchant, Shopper, Tier
from storefront import errors as storefront_errors
from storefront.models import Category, Product


@dataclass(frozen=True)
class OrderProduct:
    """What the pipeline needs of a product: its id, category and tags."""

    pk: int
    sku: str
    category_id: int | None
    category_slug: str | None
    tags: tuple[str, ...]


@dataclass
class MemberRow:
    account: PointsAccount  # .membership, .membership.shopper and .membership.tier set
    program: Program | None  # .repurchase_template set; None: the merchant has none yet
    brand_account_id: int | None
    follows_brand: bool
    top_tier_rank: int | None
    products: dict[str, OrderProduct]
    coupons: dict[str, Coupon] | None  # SQLite only: read here (PostgreSQL locks them apart)


ACCOUNT = Columns(PointsAccount, "pa")
MEMBERSHIP = Columns(Membership, "m")
SHOPPER = Columns(Shopper, "s")
TIER = Columns(Tier, "t")
PROGRAM = Columns(Program, "p")
TEMPLATE = Columns(CouponTemplate, "rt")
COUPON = Columns(Coupon, "c")
COUPON_TEMPLATE = Columns(CouponTemplate, "ct")


def member_row(
    *, merchant: Merchant, shopper_external_id: str, skus: list[str], codes: list[str]
) -> MemberRow | None:
    """The member's row, or None when the shopper has no points account with this merchant."""
    with connection.cursor() as cursor:
        cursor.execute(
            _member_sql(len(skus), len(codes)),
            {
                "merchant": merchant.pk,
                "shopper": shopper_external_id,
                **_skus(skus),
                **_listed("code", codes),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return _member_from(row)


def member_row_by_shopper_id(*, merchant: Merchant, shopper_id: int, skus, codes) -> MemberRow | None:
    """A member whose points account was never opened (a membership from before the
    ledger, or made by hand) gets one now; a non-member gets none."""
    membership = Membership.objects.filter(merchant=merchant, shopper_id=shopper_id).only("pk").first()
    if membership is None:
        return None
    points_account_open(membership=membership)
    shopper = Shopper.objects.only("external_id").get(pk=shopper_id)
    return member_row(merchant=merchant, shopper_external_id=shopper.external_id, skus=skus, codes=codes)


def products_by_sku(*, merchant: Merchant, skus: list[str]) -> dict[str, OrderProduct]:
    """A non-member's order: the products alone, one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_products_sql(len(skus)), {"merchant": merchant.pk, **_skus(skus)})
        rows = cursor.fetchall()
    return products_checked(skus, [_product(row) for row in rows])


def products_checked(skus: list[str], found: list[OrderProduct]) -> dict[str, OrderProduct]:
    """The products by sku; any unknown sku refuses the order (duplicates are refused
    before anything is read: ``skus_check``)."""
    products = {p.sku: p for p in found}
    missing = [sku for sku in skus if sku not in products]
    if missing:
        detail = f"No product of this merchant with sku {', '.join(missing)}."
        raise storefront_errors.UnknownProduct(detail, attr="lines")
    return products


def skus_check(skus: list[str]) -> None:
    if len(set(skus)) != len(skus):
        raise storefront_errors.DuplicateSku(attr="lines")


def program_for(*, merchant: Merchant, member: MemberRow | None) -> Program:
    if member is not None and member.program is not None:
        return member.program
    return program_get_or_create(merchant_id=merchant.pk)


# --- The statements ---------------------------------------------------------------------

_SQL: dict[tuple, str] = {}


def _member_sql(skus: int, codes: int) -> str:
    """The statement for so many skus and codes, built once per process. On PostgreSQL
    one text serves any number of either (the skus are one array parameter, the codes
    are not read here), so psycopg parses it once and the server keeps it prepared."""
    postgresql = connection.vendor == "postgresql"
    key = ("member", connection.vendor) if postgresql else ("member", connection.vendor, skus, codes)
    if key not in _SQL:
        _SQL[key] = _build_member_sql(postgresql=postgresql, skus=skus, codes=codes)
    return _SQL[key]


def _products_sql(skus: int) -> str:
    key = ("products", connection.vendor, 0 if connection.vendor == "postgresql" else skus)
    if key not in _SQL:
        where = _products_where("%(merchant)s", skus)
        _SQL[key] = f"SELECT {_PRODUCT_FIELDS} FROM {_PRODUCT_FROM} WHERE {where}"
    return _SQL[key]


def _listed(name: str, values: list[str]) -> dict[str, str]:
    return {f"{name}{i}": value for i, value in enumerate(values)}


def _skus(skus: list[str]) -> dict:
    """The skus' parameters: one array on PostgreSQL, one each on SQLite."""
    if connection.vendor == "postgresql":
        return {"skus": list(skus)}
    return _listed("sku", skus)


def _in_list(column: str, name: str, count: int) -> str:
    if not count:
        return "FALSE"
    return f"{column} IN ({', '.join(f'%({name}{i})s' for i in range(count))})"


_PRODUCT_FROM = (
    f"{Product._meta.db_table} pr LEFT JOIN {Category._meta.db_table} pc ON pc.id = pr.category_id"
)
_PRODUCT_FIELDS = "pr.id, pr.sku, pr.category_id, pc.slug, pr.tags"


def _products_where(merchant: str, skus: int) -> str:
    if connection.vendor == "postgresql":
        return f"pr.merchant_id = {merchant} AND pr.sku = ANY(%(skus)s::text[])"
    return f"pr.merchant_id = {merchant} AND {_in_list('pr.sku', 'sku', skus)}"


def _json_rows(fields: str, source: str, *, postgresql: bool) -> str:
    if postgresql:
        return f"(SELECT json_agg(json_build_array({fields})) FROM {source})"
    return f"(SELECT json_group_array(json_array({fields})) FROM {source})"


def _build_member_sql(*, postgresql: bool, skus: int, codes: int) -> str:
    tags = "pr.tags" if postgresql else "json(pr.tags)"
    products = _json_rows(
        f"pr.id, pr.sku, pr.category_id, pc.slug, {tags}",
        f"{_PRODUCT_FROM} WHERE {_products_where('m.merchant_id', skus)}",
        postgresql=postgresql,
    )
    coupons = "NULL"
    if not postgresql:
        listed = (
            f"(SELECT GROUP_CONCAT(l.product_id, ',') FROM {CouponTemplate.products.through._meta.db_table} l"
            " WHERE l.coupontemplate_id = c.template_id)"
        )
        coupons = _json_rows(
            f"{COUPON.sql}, {COUPON_TEMPLATE.sql}, {listed}",
            f"{Coupon._meta.db_table} c JOIN {CouponTemplate._meta.db_table} ct ON ct.id = c.template_id"
            f" WHERE c.merchant_id = m.merchant_id AND {_in_list('c.code', 'code', codes)}",
            postgresql=False,
        )
    account, follow = Account._meta.db_table, Follow._meta.db_table
    brand = (
        f"(SELECT a.id FROM {account} a WHERE a.kind = 'brand' AND a.merchant_id = m.merchant_id"
        " ORDER BY a.handle LIMIT 1)"
    )
    follows_brand = (
        f"EXISTS (SELECT 1 FROM {follow} f JOIN {account} a ON a.id = f.account_id"
        " WHERE a.kind = 'brand' AND a.merchant_id = m.merchant_id AND f.shopper_id = m.shopper_id)"
    )
    top_rank = f"(SELECT MAX(tt.rank) FROM {Tier._meta.db_table} tt WHERE tt.merchant_id = m.merchant_id)"
    lock = " FOR UPDATE OF pa, m" if postgresql else ""
    return f"""
        SELECT {ACCOUNT.sql}, {MEMBERSHIP.sql}, {SHOPPER.sql}, {TIER.sql}, {PROGRAM.sql}, {TEMPLATE.sql},
               {brand}, {follows_brand}, {top_rank}, {products}, {coupons}
        FROM {PointsAccount._meta.db_table} pa
        JOIN {Membership._meta.db_table} m ON m.id = pa.membership_id
        JOIN {Shopper._meta.db_table} s ON s.id = m.shopper_id
        LEFT JOIN {Tier._meta.db_table} t ON t.id = m.tier_id
        LEFT JOIN {Program._meta.db_table} p ON p.merchant_id = m.merchant_id
        LEFT JOIN {CouponTemplate._meta.db_table} rt ON rt.id = p.repurchase_template_id
        WHERE m.merchant_id = %(merchant)s AND s.external_id = %(shopper)s
        ORDER BY pa.id LIMIT 1{lock}"""


def _member_from(row) -> MemberRow:
    at = 0
    parts = []
    for columns in (ACCOUNT, MEMBERSHIP, SHOPPER, TIER, PROGRAM, TEMPLATE):
        parts.append(columns.build(row[at : at + len(columns)]))
        at += len(columns)
    account, membership, shopper, tier, program, template = parts
    brand_account_id, follows_brand, top_rank, products, coupons = row[at:]
    membership.shopper = shopper
    membership.tier = tier
    account.membership = membership
    if program is not None:
        program.repurchase_template = template
    return MemberRow(
        account=account,
        program=program,
        brand_account_id=brand_account_id,
        follows_brand=bool(follows_brand),
        top_tier_rank=top_rank,
        products={p.sku: p for p in map(_product, _json(products))},
        coupons=None if coupons is None else _coupons(_json(coupons)),
    )


def _json(value) -> list:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


def _product(row) -> OrderProduct:
    pk, sku, category_id, slug, tags = row
    if isinstance(tags, str):  # a product query's tags column on SQLite: JSON text
        tags = json.loads(tags)
    return OrderProduct(pk, sku, category_id, slug, tuple(tags or ()))


def _coupons(rows: list) -> dict[str, Coupon]:
    coupons = {}
    for row in rows:
        coupon = COUPON.build(row[: len(COUPON)])
        coupon.template = COUPON_TEMPLATE.build(row[len(COUPON) : len(COUPON) + len(COUPON_TEMPLATE)])
        coupon.listed_product_ids = row[-1]
        coupons[coupon.code] = coupon
    return coupons
