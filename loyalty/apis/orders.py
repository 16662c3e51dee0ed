"""The shop system's orders and refunds: the entrance of the purchase pipeline, and the read-back."""

import functools
from decimal import Decimal

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import bound_fields, paginated_response, validated
from core.fields import (
    IDENTIFIER_VALIDATOR,
    SHOPPER_ID_VALIDATOR,
    AwareDateTimeField,
    BoundedListField,
    model_field,
)
from core.schema import api_operation
from coupons import errors as coupon_errors
from coupons.apis import CouponCodesField
from loyalty import errors, selectors
from loyalty.apis.order_input import OrderBodyRules, well_formed_order
from loyalty.services.purchases import NOT_A_MEMBER, OrderInput, OrderLineInput, purchase_record
from loyalty.services.refunds import RefundInput, RefundLineInput, refund_record
from members.authentication import MerchantApi
from members.models import Shopper
from storefront import errors as storefront_errors
from storefront.models import MONEY, Order, OrderLine, Product, Refund

MAX_LINES = 200
TAGS = ["merchant orders"]


class StoredTimeField(serializers.DateTimeField):
    """A time kept as text in a stored answer, given in the API's one format (``...Z``)."""

    def to_representation(self, value):
        if isinstance(value, str):
            value = parse_datetime(value)
        return super().to_representation(value)


IssuedCouponOutput = inline_serializer(
    "IssuedCoupon",
    {
        "code": serializers.CharField(),
        "template": serializers.IntegerField(),
        "expires_at": StoredTimeField(),
    },
)


class OrderOutput(serializers.Serializer):
    external_id = serializers.CharField()
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    points_earned = serializers.IntegerField()
    points_reason = serializers.ChoiceField(
        choices=[NOT_A_MEMBER],
        allow_null=True,
        default=None,
        help_text="Why the order earned no points (`not_a_member`: the shopper holds no active "
        "membership); null when it earned.",
    )
    coupons_redeemed = serializers.ListField(child=serializers.CharField())
    coupons_issued = serializers.ListField(child=IssuedCouponOutput)


def order_answer(stored: dict) -> dict:
    """The stored answer as ``OrderOutput`` renders it, built directly (the serializer
    cost a third of a millisecond an order): keys in its order, so a replay (read back
    from a jsonb column, whose keys PostgreSQL reorders) answers with the same bytes as
    the first response; money with its two decimals. tests/loyalty/test_orders_api.py
    checks it against the serializer."""
    return {
        "external_id": stored["external_id"],
        "subtotal": _money(stored["subtotal"]),
        "discount": _money(stored["discount"]),
        "total": _money(stored["total"]),
        "points_earned": int(stored["points_earned"]),
        "points_reason": stored.get("points_reason"),
        "coupons_redeemed": [str(code) for code in stored["coupons_redeemed"]],
        "coupons_issued": [
            {"code": c["code"], "template": int(c["template"]), "expires_at": c["expires_at"]}
            for c in stored["coupons_issued"]
        ],
    }


def _money(value) -> str:
    return format(Decimal(value), ".2f")


class OrderLineInputSerializer(serializers.Serializer):
    sku = model_field(Product, "sku")
    quantity = model_field(OrderLine, "quantity", min_value=1, max_value=100_000)
    unit_price = model_field(OrderLine, "unit_price", min_value=0)


ORDER_EXAMPLE = {
    "external_id": "A-1001",
    "shopper": "douyin-4471",
    "paid_at": "2026-12-01T10:00:00Z",
    "via_account": "acme-anna",
    "lines": [{"sku": "LIP-01", "quantity": 2, "unit_price": "89.00"}],
    "coupon_codes": ["WELCOME-7QX2"],
}
ORDER_ANSWER = {
    "external_id": "A-1001",
    "subtotal": "178.00",
    "discount": "10.00",
    "total": "168.00",
    "points_earned": 168,
    "points_reason": None,
    "coupons_redeemed": ["WELCOME-7QX2"],
    "coupons_issued": [{"code": "AGAIN-K2P9", "template": 3, "expires_at": "2026-12-31T10:00:00Z"}],
}


class OrderLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    title = serializers.CharField(source="product.title")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    refunded_quantity = serializers.IntegerField()


class RefundLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class OrderRefundOutput(serializers.Serializer):
    external_id = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    lines = RefundLineOutput(many=True)
    points_reversed = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_points_reversed(self, refund) -> int:
        return int(refund.response.get("points_reversed", 0))


class OrderDetailOutput(serializers.Serializer):
    external_id = serializers.CharField()
    shopper = serializers.CharField(source="shopper.external_id")
    via_account = serializers.CharField(source="via_account.handle", allow_null=True, default=None)
    status = serializers.CharField(help_text="`paid`, `partially_refunded` or `refunded`.")
    paid_at = serializers.DateTimeField()
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    refunded_amount = serializers.DecimalField(**MONEY)
    points_earned = serializers.IntegerField()
    points_reversed = serializers.IntegerField()
    lines = OrderLineOutput(many=True)
    refunds = OrderRefundOutput(many=True)
    coupons_redeemed = serializers.SerializerMethodField()
    coupons_issued = serializers.SerializerMethodField()

    def get_coupons_redeemed(self, order) -> list[str]:
        return sorted(coupon.code for coupon in order.coupons.all())

    @extend_schema_field(IssuedCouponOutput.__class__(many=True))
    def get_coupons_issued(self, order) -> list[dict]:
        # As answered when the order was recorded (the coupons may have been used since).
        return IssuedCouponOutput.__class__(order.response.get("coupons_issued", []), many=True).data


class OrderListCreateApi(MerchantApi):
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
            help_text="Handle of the selling account (a KOE's); the brand account if not given.",
        )
        lines = BoundedListField(child=OrderLineInputSerializer(), allow_empty=False, max_length=MAX_LINES)
        coupon_codes = CouponCodesField(required=False, default=list)

    class FilterSerializer(serializers.Serializer):
        shopper = serializers.CharField(
            max_length=150, required=False, help_text="Only this shopper's orders."
        )
        paid_after = AwareDateTimeField(
            required=False, help_text="Paid at or after this time (with its zone)."
        )
        paid_before = AwareDateTimeField(required=False, help_text="Paid before this time (with its zone).")

    @api_operation(
        summary="List orders",
        description="The merchant's orders, newest paid first, each with its lines, refunds, points "
        "and coupons. Filter by `shopper` (the platform's user id) and by a `paid_after`/`paid_before` "
        "window. Reads only.",
        filters=FilterSerializer,
        responses=OrderDetailOutput(many=True),
        tags=TAGS,
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        orders = selectors.merchant_order_list(merchant=self.merchant, **filters)
        return paginated_response(self, request, orders, OrderDetailOutput, ordering=("-paid_at", "-id"))

    @api_operation(
        summary="Record a paid order",
        description="Records the order and everything it causes, in one transaction: redeems the "
        "coupons given, earns points for an active member (tier multiplier applied), upgrades the "
        "tier, issues the repurchase coupon on a shopper's first order, and counts the purchase "
        "for the selling account's fans. An unknown `shopper` is created.\n\n"
        "**Idempotent by `external_id`**: the same body again answers 200 with the stored answer "
        "and writes nothing; another body under that id is a 409 `order_conflict`. Retry freely "
        "after a timeout.\n\n"
        "A shopper who is not a member earns nothing: `points_earned: 0`, `points_reason: "
        '"not_a_member"`. A coupon that cannot apply refuses the whole order (400, its code says '
        "why: `coupon_expired`, `coupon_min_spend`, ...); check a cart first with "
        "`POST /merchant/coupons/validate`.",
        request=InputSerializer,
        responses={201: OrderOutput, 200: OrderOutput},
        examples=[
            OpenApiExample("An order with a coupon", value=ORDER_EXAMPLE, request_only=True),
            OpenApiExample("Recorded", value=ORDER_ANSWER, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Replayed: the stored answer", value=ORDER_ANSWER, response_only=True, status_codes=["200"]
            ),
        ],
        errors=[
            errors.OrderConflict,
            storefront_errors.UnknownProduct.on("lines"),
            storefront_errors.DuplicateSku.on("lines"),
            storefront_errors.OrderTooLarge.on("lines"),
            storefront_errors.PaidAtOutOfRange.on("paid_at"),
            errors.UnknownViaAccount.on("via_account"),
            *(error.on("coupon_codes") for error in coupon_errors.ORDER_REJECTIONS),
        ],
        tags=TAGS,
    )
    def post(self, request):
        data = well_formed_order(request, _order_rules()) or validated(self.InputSerializer, request)
        order = OrderInput(
            external_id=data["external_id"],
            shopper=data["shopper"],
            paid_at=data["paid_at"],
            via_account=data["via_account"] or None,
            lines=tuple(OrderLineInput(**line) for line in data["lines"]),
            coupon_codes=tuple(data["coupon_codes"]),
        )
        result = purchase_record(merchant=self.merchant, order=order)
        return Response(
            order_answer(result.response),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class OrderDetailApi(MerchantApi):
    @api_operation(
        summary="Read an order",
        description="One order by the shop system's `external_id`: lines (with what was refunded of "
        "each), refunds, points earned and reversed, coupons redeemed and issued. Reads only.",
        responses=OrderDetailOutput,
        errors=[errors.OrderNotFound],
        tags=TAGS,
    )
    def get(self, request, external_id: str):
        order = selectors.merchant_order_get(merchant=self.merchant, external_id=external_id)
        return Response(OrderDetailOutput(order).data)


class RefundOutput(serializers.Serializer):
    external_id = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    points_reversed = serializers.IntegerField()
    coupons_restored = serializers.ListField(child=serializers.CharField())


class RefundLineInputSerializer(serializers.Serializer):
    sku = model_field(Product, "sku")
    quantity = model_field(OrderLine, "quantity", min_value=1, max_value=100_000)


REFUND_EXAMPLE = {"external_id": "R-1001-1", "lines": [{"sku": "LIP-01", "quantity": 1}]}
REFUND_ANSWER = {"external_id": "R-1001-1", "amount": "84.00", "points_reversed": 84, "coupons_restored": []}


class RefundCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        external_id = model_field(Refund, "external_id", validators=[IDENTIFIER_VALIDATOR])
        lines = BoundedListField(child=RefundLineInputSerializer(), allow_empty=False, max_length=MAX_LINES)

    @api_operation(
        summary="Refund lines of an order",
        description="Refunds quantities of the order's lines. The points earned on them are "
        "reversed in proportion (a balance may go below zero: the debt is paid by the next "
        "earnings); a full refund restores the coupons the order redeemed.\n\n"
        "**Idempotent by the refund's `external_id`**: the same body again answers 200 with the "
        "stored answer; another body under that id is a 409 `refund_conflict`.",
        request=InputSerializer,
        responses={201: RefundOutput, 200: RefundOutput},
        examples=[
            OpenApiExample("One of two lipsticks back", value=REFUND_EXAMPLE, request_only=True),
            OpenApiExample("Refunded", value=REFUND_ANSWER, response_only=True, status_codes=["201"]),
        ],
        errors=[
            errors.OrderNotFound,
            errors.RefundConflict,
            storefront_errors.DuplicateSku.on("lines"),
            errors.SkuNotInOrder.on("lines"),
            errors.RefundExceedsPurchase.on("lines"),
        ],
        tags=TAGS,
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


@functools.cache
def _order_rules() -> OrderBodyRules:
    return OrderBodyRules(bound_fields(OrderListCreateApi.InputSerializer))
