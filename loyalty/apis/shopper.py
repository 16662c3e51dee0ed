"""The shopper's own: wallet, points ledger, frequently purchased goods, coupon exchange."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import model_field
from core.pagination import CursorPage
from coupons.apis import CouponOutput
from coupons.models import CouponTemplate
from loyalty import selectors
from loyalty.apis.memberships import MerchantRefOutput
from loyalty.services.exchange import coupon_exchange
from members import selectors as members_selectors
from members.authentication import ShopperApi
from storefront import selectors as storefront_selectors


class WalletMembershipOutput(serializers.Serializer):
    merchant = MerchantRefOutput()
    number = serializers.IntegerField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    points_balance = serializers.IntegerField()
    usable_coupons = serializers.IntegerField(help_text="Coupons of this merchant usable now.")
    iron_fan = serializers.BooleanField(source="is_iron_fan")


class WalletApi(ShopperApi):
    @extend_schema(
        responses=inline_serializer("Wallet", {"memberships": WalletMembershipOutput(many=True)}),
        tags=["shopper"],
    )
    def get(self, request):
        memberships = selectors.wallet(shopper=self.shopper, now=timezone.now())
        return Response({"memberships": WalletMembershipOutput(memberships, many=True).data})


class PointsEntryOutput(serializers.Serializer):
    delta = serializers.IntegerField()
    kind = serializers.CharField()
    reason = serializers.CharField()
    order = serializers.CharField(
        source="order.external_id", allow_null=True, default=None, help_text="The order it came from."
    )
    refund = serializers.CharField(
        source="refund.external_id", allow_null=True, default=None, help_text="The refund that reversed it."
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class PointsLedgerApi(ShopperApi):
    @extend_schema(responses=PointsEntryOutput(many=True), tags=["shopper"])
    def get(self, request, merchant: str):
        merchant_obj = members_selectors.merchant_get(slug=merchant)
        entries = selectors.points_entry_list(shopper=self.shopper, merchant=merchant_obj)
        return paginated_response(self, request, entries, PointsEntryOutput)


class PurchasedProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    merchant = serializers.CharField(source="merchant.slug")
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)


class FrequentlyPurchasedOutput(serializers.Serializer):
    product = PurchasedProductOutput()
    times_purchased = serializers.IntegerField()
    quantity = serializers.IntegerField()
    last_purchased_at = serializers.DateTimeField()
    due_again = serializers.DateTimeField(
        allow_null=True, help_text="Bought twice or more: last + median interval."
    )
    coupon = CouponOutput(allow_null=True, help_text="A usable repurchase coupon that covers this product.")


class FrequentlyPurchasedApi(ShopperApi):
    class FilterSerializer(serializers.Serializer):
        merchant = serializers.SlugField(required=False, max_length=50)

    @extend_schema(
        parameters=[OpenApiParameter("merchant", str, description="Only this merchant's products (slug).")],
        responses=FrequentlyPurchasedOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        merchant = members_selectors.merchant_get(slug=filters["merchant"]) if "merchant" in filters else None
        stats = storefront_selectors.purchase_stat_list(shopper=self.shopper, merchant=merchant)
        paginator = CursorPage()
        paginator.ordering = ("-times_purchased", "-last_purchased_at", "-id")
        page = paginator.paginate_queryset(stats, request, view=self)
        selectors.frequently_purchased_details(shopper=self.shopper, stats=page, now=timezone.now())
        return paginator.get_paginated_response(FrequentlyPurchasedOutput(page, many=True).data)


class CouponExchangeApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        merchant = serializers.SlugField(max_length=50)
        template = model_field(CouponTemplate, "id", help_text="Id of a template with a points price.")

    @extend_schema(request=InputSerializer, responses={201: CouponOutput}, tags=["shopper"])
    def post(self, request):
        data = validated(self.InputSerializer, request)
        merchant = members_selectors.merchant_get(slug=data["merchant"])
        coupon = coupon_exchange(shopper=self.shopper, merchant=merchant, template_id=data["template"])
        coupon.merchant = merchant
        return Response(CouponOutput(coupon).data, status=status.HTTP_201_CREATED)
