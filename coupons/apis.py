"""Coupon templates (merchant), cart validation (merchant), a shopper's coupons."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import SHOPPER_ID_VALIDATOR, AwareDateTimeField, BoundedListField, model_field
from coupons import selectors
from coupons.models import Coupon, CouponTemplate
from coupons.services.templates import coupon_template_create
from members import selectors as members_selectors
from members.authentication import MerchantApi, ShopperApi
from members.models import SLUG_VALIDATOR, Shopper
from storefront.models import MONEY, OrderLine, Product

MAX_COUPONS_PER_ORDER = 10


class CouponCodesField(BoundedListField):
    """The codes of an order or cart: each once, in the order they are to apply."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", model_field(Coupon, "code"))
        kwargs.setdefault("max_length", MAX_COUPONS_PER_ORDER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        codes = super().to_internal_value(data)
        if len(set(codes)) != len(codes):
            raise serializers.ValidationError(
                "Each coupon code may be given once.", code="duplicate_coupon_code"
            )
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

    @extend_schema(responses=TemplateWithProductsOutput(many=True), tags=["merchant coupons"])
    def get(self, request):
        templates = selectors.template_list(merchant=self.merchant).prefetch_related("products")
        return paginated_response(self, request, templates, TemplateWithProductsOutput)

    @extend_schema(
        request=InputSerializer, responses={201: TemplateWithProductsOutput}, tags=["merchant coupons"]
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        template = coupon_template_create(merchant=self.merchant, **data)
        return Response(TemplateWithProductsOutput(template).data, status=status.HTTP_201_CREATED)


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

    @extend_schema(
        request=InputSerializer,
        responses=ValidationOutput,
        tags=["merchant coupons"],
        description="A dry run of the order's coupon rules: what would apply and why the rest would not. "
        "Writes nothing.",
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        result = selectors.cart_validate(merchant=self.merchant, **data)
        return Response(ValidationOutput(result).data)


class CouponOutput(serializers.Serializer):
    code = serializers.CharField()
    merchant = serializers.CharField(source="merchant.slug")
    state = serializers.CharField()
    source = serializers.CharField()
    issued_at = serializers.DateTimeField()
    valid_from = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    redeemed_at = serializers.DateTimeField(allow_null=True)
    template = TemplateOutput()


class MyCouponListApi(ShopperApi):
    class FilterSerializer(serializers.Serializer):
        merchant = serializers.SlugField(max_length=50, required=False)
        state = serializers.ChoiceField(choices=["usable", "redeemed", "expired"], required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("merchant", str, description="Only this merchant's coupons (slug)."),
            OpenApiParameter("state", str, enum=["usable", "redeemed", "expired"]),
        ],
        responses=CouponOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        merchant = members_selectors.merchant_get(slug=filters["merchant"]) if "merchant" in filters else None
        coupons = selectors.coupon_list(
            shopper=self.shopper, now=timezone.now(), merchant=merchant, state=filters.get("state")
        )
        return paginated_response(self, request, coupons, CouponOutput)
