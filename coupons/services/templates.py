from datetime import datetime
from decimal import Decimal

from django.db import transaction

from coupons.errors import UnknownTemplateProduct
from coupons.models import CouponTemplate
from members.models import Merchant
from storefront.models import Product
from storefront.selectors import category_get


@transaction.atomic
def coupon_template_create(
    *,
    merchant: Merchant,
    name: str,
    kind: str,
    value: Decimal,
    min_spend: Decimal = Decimal("0"),
    max_discount: Decimal | None = None,
    scope: str = CouponTemplate.Scope.ALL,
    category: str | None = None,
    products: list[str] | None = None,
    valid_days: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    per_member_limit: int = 1,
    stock: int | None = None,
    points_price: int | None = None,
    stackable: bool = False,
) -> CouponTemplate:
    """A template with its terms; the input's shape was checked by the caller."""
    product_rows = []
    if scope == CouponTemplate.Scope.PRODUCTS:
        skus = list(dict.fromkeys(products or []))
        product_rows = list(Product.objects.filter(merchant=merchant, sku__in=skus))
        missing = sorted(set(skus) - {p.sku for p in product_rows})
        if missing:
            raise UnknownTemplateProduct(
                f"No product of this merchant with sku {', '.join(missing)}.", attr="products"
            )
    template = CouponTemplate.objects.create(
        merchant=merchant,
        name=name,
        kind=kind,
        value=value,
        min_spend=min_spend,
        max_discount=max_discount if kind == CouponTemplate.Kind.PERCENT else None,
        scope=scope,
        category=category_get(merchant=merchant, slug=category) if scope == CouponTemplate.Scope.CATEGORY else None,
        valid_days=valid_days,
        valid_from=valid_from,
        valid_until=valid_until,
        per_member_limit=per_member_limit,
        stock=stock,
        points_price=points_price,
        stackable=stackable,
    )
    if product_rows:
        template.products.set(product_rows)
    return template
