"""Coupon templates (merchant), cart validation (merchant), a shopper's coupons."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import moment_text, money_text, paginated_response, validated
from core.fields import SHOPPER_ID_VALIDATOR, AwareDateTimeField, BoundedListField, model_field
from core.pagination import Keyset
from core.schema import api_operation
from coupons import errors, selectors
from coupons.models import Coupon, CouponTemplate
from coupons.services.templates import coupon_template_create
from members import errors as members_errors
from members import selectors as members_selectors
from members.authentication import MerchantApi, ShopperApi
from members.models import SLUG_VALIDATOR, Shopper
from storefront import errors as storefront_errors
from storefront.models import MONEY, OrderLine, Product

TAGS = ["merchant coupons"]

MAX_COUPONS_PER_ORDER = 10


class CouponCodesField(BoundedListField):
    """The codes of an order or cart: each once, in the order they are to apply."""

    default_error_messages = {"duplicate_coupon_code": "Each coupon code may be given once."}

    def __init__(self, **kwargs):
        kwargs.setdefault("child", model_field(Coupon, "code"))
        kwargs.setdefault("max_length", MAX_COUPONS_PER_ORDER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        codes = super().to_internal_value(data)
        if len(set(codes)) != len(codes):
            self.fail("duplicate_coupon_code")
        return codes


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.DecimalField(**MONEY)
    min_spend = serializers.DecimalField(**MONEY)
    max_discount = serializers.DecimalField(**MONEY, allow_null=True)
    scope = serializers.CharField()
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    valid_days = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    per_member_limit = serializers.IntegerField()
    stock = serializers.IntegerField(allow_null=True)
    issued_count = serializers.IntegerField()
    points_price = serializers.IntegerField(allow_null=True)
    stackable = serializers.BooleanField()
    active = serializers.BooleanField()


class TemplateWithProductsOutput(TemplateOutput):
    products = serializers.SerializerMethodField()

    def get_products(self, template) -> list[str]:
        if template.scope != CouponTemplate.Scope.PRODUCTS:
            return []
        # ``all()``, not ``values_list()``: the list prefetches the products, one query for the page.
        return sorted(product.sku for product in template.products.all())


class CouponTemplateListCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        name = model_field(CouponTemplate, "name")
        kind = serializers.ChoiceField(choices=CouponTemplate.Kind.choices)
        value = model_field(CouponTemplate, "value", min_value=Decimal("0.01"))
        min_spend = model_field(CouponTemplate, "min_spend", min_value=Decimal("0"), default=Decimal("0"))
        max_discount = model_field(
            CouponTemplate, "max_discount", min_value=Decimal("0.01"), required=False, allow_null=True
        )
        scope = serializers.ChoiceField(
            choices=CouponTemplate.Scope.choices, default=CouponTemplate.Scope.ALL
        )
        category = serializers.CharField(max_length=50, required=False, validators=[SLUG_VALIDATOR])
        products = BoundedListField(
            child=model_field(Product, "sku"), required=False, allow_empty=False, max_length=500
        )
        valid_days = model_field(
            CouponTemplate, "valid_days", min_value=1, max_value=3650, required=False, allow_null=True
        )
        valid_from = AwareDateTimeField(required=False, allow_null=True)
        valid_until = AwareDateTimeField(required=False, allow_null=True)
        per_member_limit = model_field(
            CouponTemplate, "per_member_limit", min_value=1, max_value=1000, default=1
        )
        stock = model_field(CouponTemplate, "stock", min_value=0, required=False, allow_null=True)
        points_price = model_field(
            CouponTemplate, "points_price", min_value=1, required=False, allow_null=True
        )
        stackable = serializers.BooleanField(default=False)

    @api_operation(
        summary="List coupon templates",
        description="The merchant's coupon templates, newest first, with their terms and "
        "how many were issued. Reads only.",
        responses=TemplateWithProductsOutput(many=True),
        tags=TAGS,
    )
    def get(self, request):
        templates = selectors.template_list(merchant=self.merchant).prefetch_related("products")
        return paginated_response(self, request, templates, TemplateWithProductsOutput)

    @api_operation(
        summary="Add a coupon template",
        description="Adds the terms coupons are issued under: a `fixed` amount or a `percent` "
        "(with an optional cap) off the lines in `scope` (`all`, one `category` the merchant has, "
        "or listed `products`), above `min_spend`. Validity is `valid_days` from issue, or a window "
        "ending at `valid_until`. `stock` caps how many are ever issued; `points_price` lets members "
        "buy one with points. Use its `id` as the program's join or repurchase template.",
        request=InputSerializer,
        responses={201: TemplateWithProductsOutput},
        examples=[
            OpenApiExample(
                "10 off above 100, for 30 days",
                value={
                    "name": "Welcome",
                    "kind": "fixed",
                    "value": "10.00",
                    "min_spend": "100.00",
                    "valid_days": 30,
                },
                request_only=True,
            )
        ],
        errors=[
            errors.UnknownTemplateProduct.on("products"),
            storefront_errors.UnknownCategory.on("category"),
            *(error.on(field) for error, field in errors.TEMPLATE_TERMS),
        ],
        tags=TAGS,
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        template = coupon_template_create(merchant=self.merchant, **data)
        return Response(TemplateWithProductsOutput(template).data, status=status.HTTP_201_CREATED)


class CouponTemplateDetailApi(MerchantApi):
    @api_operation(
        summary="Read a coupon template",
        description="One of the merchant's coupon templates by id, with its terms and issued count. "
        "Reads only.",
        parameters=[
            OpenApiParameter("template_id", int, OpenApiParameter.PATH, description="The template's id.")
        ],
        responses=TemplateWithProductsOutput,
        errors=[errors.TemplateNotFound],
        tags=TAGS,
    )
    def get(self, request, template_id: str):
        template = selectors.template_get(merchant=self.merchant, template_id=template_id)
        return Response(TemplateWithProductsOutput(template).data)


class CartLineInput(serializers.Serializer):
    sku = model_field(Product, "sku")
    quantity = model_field(OrderLine, "quantity", min_value=1, max_value=100_000)
    unit_price = model_field(OrderLine, "unit_price", min_value=0)


class RejectedOutput(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField()
    detail = serializers.CharField()


class ValidationOutput(serializers.Serializer):
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    applied = serializers.ListField(child=serializers.CharField())
    rejected = RejectedOutput(many=True)


class CouponValidateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        shopper = model_field(Shopper, "external_id", validators=[SHOPPER_ID_VALIDATOR])
        lines = BoundedListField(child=CartLineInput(), allow_empty=False, max_length=200)
        coupon_codes = CouponCodesField()

    @api_operation(
        summary="Check a cart's coupons",
        description="A dry run of the order's coupon rules, the same ones `POST /merchant/orders` "
        "applies: the totals, the codes that would apply and, for each of the others, why not "
        "(`reason` is the code the order would be refused with: `coupon_expired`, "
        "`coupon_min_spend`, `coupon_out_of_scope`, ...). Writes nothing; the answer may change "
        "before the order is recorded.",
        request=InputSerializer,
        responses=ValidationOutput,
        examples=[
            OpenApiExample(
                "A cart with two codes",
                value={
                    "shopper": "douyin-4471",
                    "lines": [{"sku": "LIP-01", "quantity": 2, "unit_price": "89.00"}],
                    "coupon_codes": ["WELCOME-7QX2", "OLD-1234"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "One applies, one does not",
                value={
                    "subtotal": "178.00",
                    "discount": "10.00",
                    "total": "168.00",
                    "applied": ["WELCOME-7QX2"],
                    "rejected": [
                        {"code": "OLD-1234", "reason": "coupon_expired", "detail": "This coupon has expired."}
                    ],
                },
                response_only=True,
            ),
        ],
        errors=[
            storefront_errors.UnknownProduct.on("lines"),
            storefront_errors.DuplicateSku.on("lines"),
        ],
        tags=TAGS,
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        result = selectors.cart_validate(merchant=self.merchant, **data)
        return Response(ValidationOutput(result).data)


class CouponOutput(serializers.Serializer):
    code = serializers.CharField()
    merchant = serializers.CharField(source="merchant.slug")
    state = serializers.ChoiceField(
        choices=["issued", "redeemed", "expired", "void"],
        help_text="`issued` coupons are held; `usable` says whether one can be used now.",
    )
    usable = serializers.SerializerMethodField(
        help_text="Can be used now: issued, started and not past `expires_at` (what `?state=usable` lists)."
    )
    source = serializers.CharField()
    issued_at = serializers.DateTimeField()
    valid_from = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    redeemed_at = serializers.DateTimeField(allow_null=True)
    template = TemplateOutput()

    def get_usable(self, coupon) -> bool:
        return selectors.coupon_is_usable(coupon, now=self.context.get("now") or timezone.now())


def coupon_answer(coupon: selectors.HeldCoupon, *, now, tz) -> dict:
    """What ``CouponOutput`` makes of a coupon, built directly from a ``HeldCoupon``
    (times in ``tz``, the current time zone).

    The feed shows one beside each product of every page; the nested serializers cost
    more CPU than the page's statements (docs/performance.md, "Feed").
    tests/loyalty/test_feed_api.py checks the answer equals the serializer's, key order
    included.
    """
    terms = coupon.template
    return {
        "code": coupon.code,
        "merchant": coupon.merchant_slug,
        "state": coupon.state,
        "usable": selectors.coupon_is_usable(coupon, now=now),
        "source": coupon.source,
        "issued_at": moment_text(coupon.issued_at, tz),
        "valid_from": moment_text(coupon.valid_from, tz),
        "expires_at": moment_text(coupon.expires_at, tz),
        "redeemed_at": moment_text(coupon.redeemed_at, tz),
        "template": {
            "id": terms.id,
            "name": terms.name,
            "kind": terms.kind,
            "value": money_text(terms.value),
            "min_spend": money_text(terms.min_spend),
            "max_discount": money_text(terms.max_discount),
            "scope": terms.scope,
            "category": terms.category_slug,
            "valid_days": terms.valid_days,
            "valid_from": moment_text(terms.valid_from, tz),
            "valid_until": moment_text(terms.valid_until, tz),
            "per_member_limit": terms.per_member_limit,
            "stock": terms.stock,
            "issued_count": terms.issued_count,
            "points_price": terms.points_price,
            "stackable": terms.stackable,
            "active": terms.active,
        },
    }


class MyCouponListApi(ShopperApi):
    class FilterSerializer(serializers.Serializer):
        merchant = serializers.SlugField(
            max_length=50, required=False, help_text="Only this merchant's (slug)."
        )
        state = serializers.ChoiceField(
            choices=["usable", "redeemed", "expired"], required=False, help_text="Only coupons in this state."
        )

    @api_operation(
        summary="List my coupons",
        description="The shopper's coupons with their terms, newest first. `state=usable` lists the "
        "ones that can be used now (each coupon's `usable` is true), `redeemed` the used ones, "
        "`expired` those past their date. An unknown `merchant` is a 400 on that filter.",
        filters=FilterSerializer,
        responses=CouponOutput(many=True),
        errors=[members_errors.MerchantNotFound.on("merchant")],
        tags=["shopper"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        merchant = members_selectors.merchant_get(slug=filters["merchant"]) if "merchant" in filters else None
        keyset = Keyset.from_request(request, fields=selectors.COUPON_PAGE_KEY, descending=True)
        now = timezone.now()
        coupons = selectors.coupon_page(
            shopper=self.shopper, now=now, keyset=keyset, merchant=merchant, state=filters.get("state")
        )
        # CouponOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        return keyset.response(
            coupons, key=lambda coupon: (coupon.id,), answer=lambda c: coupon_answer(c, now=now, tz=tz)
        )
