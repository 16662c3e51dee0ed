"""The shop system's orders and refunds: the entrance of the purchase pipeline."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import validated
from core.fields import (
    IDENTIFIER_VALIDATOR,
    SHOPPER_ID_VALIDATOR,
    AwareDateTimeField,
    BoundedListField,
    model_field,
)
from coupons.apis import CouponCodesField
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from loyalty.services.refunds import RefundInput, RefundLineInput, refund_record
from members.authentication import MerchantApi
from members.models import Shopper
from storefront.models import MONEY, Order, OrderLine, Product, Refund

MAX_LINES = 200


class OrderOutput(serializers.Serializer):
    external_id = serializers.CharField()
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    points_earned = serializers.IntegerField()
    coupons_redeemed = serializers.ListField(child=serializers.CharField())
    coupons_issued = serializers.ListField(
        child=inline_serializer(
            "IssuedCoupon",
            {
                "code": serializers.CharField(),
                "template": serializers.IntegerField(),
                "expires_at": serializers.DateTimeField(),
            },
        )
    )


class OrderLineInputSerializer(serializers.Serializer):
    sku = model_field(Product, "sku")
    quantity = model_field(OrderLine, "quantity", min_value=1, max_value=100_000)
    unit_price = model_field(OrderLine, "unit_price", min_value=0)


class OrderCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        external_id = model_field(
            Order,
            "external_id",
            validators=[IDENTIFIER_VALIDATOR],
            help_text="The shop's order id: no '/' (it is a path segment of the refunds URL).",
        )
        shopper = model_field(
            Shopper,
            "external_id",
            validators=[SHOPPER_ID_VALIDATOR],
            help_text="The platform's user id; unknown ones are created.",
        )
        paid_at = AwareDateTimeField(
            required=False,
            allow_null=True,
            default=None,
            help_text="With its zone; not in the future (a few minutes of clock skew allowed). Default: now.",
        )
        via_account = serializers.CharField(
            max_length=50,
            required=False,
            allow_null=True,
            default=None,
            help_text="Handle of the selling account.",
        )
        lines = BoundedListField(child=OrderLineInputSerializer(), allow_empty=False, max_length=MAX_LINES)
        coupon_codes = CouponCodesField(required=False, default=list)

    @extend_schema(
        request=InputSerializer,
        responses={201: OrderOutput, 200: OrderOutput},
        tags=["merchant orders"],
        description="Record a paid order. The same body under the same external_id again answers 200 "
        "with the "
        "stored answer; another body under that id is a 409 `order_conflict`.",
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        order = OrderInput(
            external_id=data["external_id"],
            shopper=data["shopper"],
            paid_at=data["paid_at"],
            via_account=data["via_account"] or None,
            lines=tuple(OrderLineInput(**line) for line in data["lines"]),
            coupon_codes=tuple(data["coupon_codes"]),
        )
        result = purchase_record(merchant=self.merchant, order=order)
        # Through the serializer, so a replay (read back from a jsonb column, whose keys
        # PostgreSQL reorders) answers with the same bytes as the first response.
        return Response(
            OrderOutput(result.response).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class RefundOutput(serializers.Serializer):
    external_id = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    points_reversed = serializers.IntegerField()
    coupons_restored = serializers.ListField(child=serializers.CharField())


class RefundLineInputSerializer(serializers.Serializer):
    sku = model_field(Product, "sku")
    quantity = model_field(OrderLine, "quantity", min_value=1, max_value=100_000)


class RefundCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        external_id = model_field(Refund, "external_id", validators=[IDENTIFIER_VALIDATOR])
        lines = BoundedListField(child=RefundLineInputSerializer(), allow_empty=False, max_length=MAX_LINES)

    @extend_schema(
        request=InputSerializer,
        responses={201: RefundOutput, 200: RefundOutput},
        tags=["merchant orders"],
        description="Refund lines of an order. Points earned on them are reversed in proportion. "
        "Replaying a refund id with the same body answers 200 with the stored answer.",
    )
    def post(self, request, external_id: str):
        data = validated(self.InputSerializer, request)
        refund = RefundInput(
            external_id=data["external_id"], lines=tuple(RefundLineInput(**line) for line in data["lines"])
        )
        result = refund_record(merchant=self.merchant, order_external_id=external_id, refund=refund)
        return Response(
            RefundOutput(result.response).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
