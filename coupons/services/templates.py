from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from coupons import errors
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
    """A template with its terms; the input's shape was checked by the caller, their fit is checked here."""
    _check_terms(
        kind=kind,
        value=value,
        max_discount=max_discount,
        scope=scope,
        category=category,
        products=products,
        valid_days=valid_days,
        valid_from=valid_from,
        valid_until=valid_until,
    )
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
        category=category_get(merchant=merchant, slug=category)
        if scope == CouponTemplate.Scope.CATEGORY
        else None,
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


def _check_terms(
    *,
    kind: str,
    value: Decimal,
    max_discount: Decimal | None,
    scope: str,
    category: str | None,
    products: list[str] | None,
    valid_days: int | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> None:
    """Terms that each look right but do not fit together; each refusal names its field."""
    if kind == CouponTemplate.Kind.PERCENT and value > 100:
        raise errors.PercentOver100(attr="value")
    if kind == CouponTemplate.Kind.FIXED and max_discount is not None:
        raise errors.CapNeedsPercent(attr="max_discount")
    if scope == CouponTemplate.Scope.CATEGORY and not category:
        raise errors.ScopeNeedsCategory(attr="category")
    if scope == CouponTemplate.Scope.PRODUCTS and not products:
        raise errors.ScopeNeedsProducts(attr="products")
    window = valid_until is not None
    if (valid_days is not None) == window:
        raise errors.ValidityAmbiguous(attr="valid_days")
    if valid_from is not None and not window:
        raise errors.ValidFromWithoutUntil(attr="valid_from")
    if window and valid_from is not None and valid_from >= valid_until:
        raise errors.WindowReversed(attr="valid_until")
    if window and valid_until <= timezone.now():
        raise errors.WindowInPast(attr="valid_until")
