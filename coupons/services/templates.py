"""Coupon templates: their terms' rules, and creating one (API, admin and campaigns alike)."""

from collections.abc import Sized
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

PERCENT_CAP = Decimal("100")


def coupon_template_terms_check(
    *,
    kind: str,
    value: Decimal,
    max_discount: Decimal | None,
    scope: str,
    category: object | None,
    products: Sized | None,
    valid_days: int | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    now: datetime | None,
) -> None:
    """Refuse terms that do not go together, naming the field (the first one found).

    A percent is at most 100 and only a percent has a cap; a category scope needs a
    category and a products scope its products; validity is either ``valid_days``
    from issue or a window ending at ``valid_until`` (after ``valid_from``). With
    ``now``, the window must not be over yet: given for a new template or a changed
    window, not for an old template whose window has passed and is edited otherwise.
    """
    Kind, Scope = CouponTemplate.Kind, CouponTemplate.Scope
    if kind == Kind.PERCENT and value > PERCENT_CAP:
        raise errors.PercentOver100(attr="value")
    if kind == Kind.FIXED and max_discount is not None:
        raise errors.CapNeedsPercent(attr="max_discount")
    if scope == Scope.CATEGORY and not category:
        raise errors.ScopeNeedsCategory(attr="category")
    if scope == Scope.PRODUCTS and not products:
        raise errors.ScopeNeedsProducts(attr="products")
    window = valid_until is not None
    if (valid_days is not None) == window:
        raise errors.ValidityAmbiguous(attr="valid_days")
    if valid_from and not window:
        raise errors.ValidFromWithoutUntil(attr="valid_from")
    if window and valid_from and valid_from >= valid_until:
        raise errors.WindowReversed(attr="valid_until")
    if window and now is not None and valid_until <= now:
        raise errors.WindowInPast(attr="valid_until")


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
    """A template with its terms. The caller checked the input's shape (types, ranges);
    the terms' rules are checked here (``coupon_template_terms_check``)."""
    coupon_template_terms_check(
        kind=kind,
        value=value,
        max_discount=max_discount,
        scope=scope,
        category=category,
        products=products,
        valid_days=valid_days,
        valid_from=valid_from,
        valid_until=valid_until,
        now=timezone.now(),
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
        category=(
            category_get(merchant=merchant, slug=category) if scope == CouponTemplate.Scope.CATEGORY else None
        ),
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
