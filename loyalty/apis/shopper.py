"""The shopper's own: wallet, points ledger, frequently purchased goods, coupon exchange."""

from datetime import datetime, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import moment_text, validated
from core.fields import model_field
from core.pagination import Keyset
from core.schema import api_operation
from coupons import errors as coupon_errors
from coupons.apis import CouponOutput
from coupons.models import CouponTemplate
from loyalty import errors, frequently_purchased, ledger, selectors
from loyalty.apis.memberships import MerchantRefOutput
from loyalty.services.exchange import coupon_exchange
from members import errors as members_errors
from members import selectors as members_selectors
from members.authentication import ShopperApi
from storefront import purchases


class WalletMembershipOutput(serializers.Serializer):
    merchant = MerchantRefOutput()
    number = serializers.IntegerField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    points_balance = serializers.IntegerField()
    points_expiring_soon = serializers.IntegerField(
        help_text="Points that expire within the next 30 days (0 if none)."
    )
    points_expiring_next_at = serializers.DateTimeField(
        allow_null=True, help_text="When the first of those expire; null if none do within 30 days."
    )
    usable_coupons = serializers.IntegerField(help_text="Coupons of this merchant usable now.")
    iron_fan = serializers.BooleanField(source="is_iron_fan")


class WalletApi(ShopperApi):
    @api_operation(
        summary="My wallet",
        description="The shopper's member cards: each active membership with its tier, points "
        "balance, the points that expire within 30 days and when the first of them do, number of "
        "coupons usable now and iron-fan status. Not paginated (a shopper holds "
        "few cards). Reads only.",
        responses=inline_serializer("Wallet", {"memberships": WalletMembershipOutput(many=True)}),
        examples=[
            OpenApiExample(
                "One card",
                value={
                    "memberships": [
                        {
                            "merchant": {"slug": "acme-beauty", "name": "Acme Beauty"},
                            "number": 42,
                            "tier": "Silver",
                            "points_balance": 1280,
                            "points_expiring_soon": 200,
                            "points_expiring_next_at": "2026-04-01T02:00:00Z",
                            "usable_coupons": 2,
                            "iron_fan": True,
                        }
                    ]
                },
                response_only=True,
            )
        ],
        tags=["shopper"],
    )
    def get(self, request):
        cards = selectors.wallet(shopper=self.shopper, now=timezone.now())
        tz = timezone.get_current_timezone()
        return Response({"memberships": [wallet_card_answer(card, tz=tz) for card in cards]})


def wallet_card_answer(card: selectors.WalletCard, *, tz) -> dict:
    """What ``WalletMembershipOutput`` makes of a card, built directly (times in ``tz``): the
    wallet is read on every opening of the app and the serializer cost more CPU than the
    statement. tests/loyalty/test_wallet_answer.py checks the two agree."""
    return {
        "merchant": {"slug": card.merchant_slug, "name": card.merchant_name},
        "number": card.number,
        "tier": card.tier_name,
        "points_balance": card.points_balance,
        "points_expiring_soon": card.points_expiring_soon,
        "points_expiring_next_at": moment_text(card.points_expiring_next_at, tz),
        "usable_coupons": card.usable_coupons,
        "iron_fan": card.iron_fan,
    }


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
    remaining = serializers.IntegerField(
        allow_null=True, help_text="A lot (positive entry): its points not yet spent or expired."
    )
    expiring_soon = serializers.BooleanField(
        help_text="A lot with points left that expire within the next 30 days."
    )


def points_entry_answer(entry: ledger.LedgerEntryRow, *, tz, by: datetime) -> dict:
    """What ``PointsEntryOutput`` makes of an entry, built directly (times in ``tz``; lots
    expiring by ``by`` are ``expiring_soon``). tests/loyalty/test_points_ledger_api.py checks
    the two agree."""
    return {
        "delta": entry.delta,
        "kind": entry.kind,
        "reason": entry.reason,
        "order": entry.order_external_id,
        "refund": entry.refund_external_id,
        "created_at": moment_text(entry.created_at, tz),
        "expires_at": moment_text(entry.expires_at, tz),
        "remaining": entry.remaining,
        "expiring_soon": entry.expiring_soon(by),
    }


class PointsLedgerApi(ShopperApi):
    @api_operation(
        summary="My points ledger",
        description="Every points movement of the shopper's membership of this merchant, newest "
        "first: earned (`earn`, with its expiry), spent (`redeem`), expired, reversed by a refund, "
        "bonuses and adjustments. Lots with points left that expire within 30 days are marked "
        "`expiring_soon`. Former members keep seeing their history. Reads only.",
        responses=PointsEntryOutput(many=True),
        errors=[members_errors.MerchantNotFound, members_errors.MembershipNotFound],
        tags=["shopper"],
    )
    def get(self, request, merchant: str):
        try:
            keyset = Keyset.from_request(request, fields=ledger.LEDGER_PAGE_KEY, descending=True)
        except ValidationError:
            # The 404s come before a bad cursor or page size, as they did.
            ledger.ledger_owner_check(shopper=self.shopper, merchant_slug=merchant)
            raise
        rows = ledger.points_entry_page(shopper=self.shopper, merchant_slug=merchant, keyset=keyset)
        # PointsEntryOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        by = timezone.now() + timedelta(days=selectors.EXPIRING_SOON_DAYS)
        return keyset.response(
            rows, key=lambda entry: (entry.id,), answer=lambda entry: points_entry_answer(entry, tz=tz, by=by)
        )


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
        merchant = serializers.SlugField(
            required=False, max_length=50, help_text="Only this merchant's (slug)."
        )

    @api_operation(
        summary="My frequently purchased goods",
        description="What the shopper buys again and again, most often bought first: times and "
        "quantity bought, when it is due again (bought twice or more), and a usable repurchase "
        "coupon that covers it. An unknown `merchant` is a 400 on that filter. Reads only.",
        filters=FilterSerializer,
        responses=FrequentlyPurchasedOutput(many=True),
        errors=[members_errors.MerchantNotFound.on("merchant")],
        tags=["shopper"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        slug = filters.get("merchant")
        try:
            keyset = Keyset.from_request(request, fields=purchases.PURCHASE_PAGE_KEY, descending=True)
        except ValidationError:
            # An unknown merchant is the 400 before a bad cursor or page size, as it was.
            if slug is not None:
                purchases.merchant_check(slug=slug)
            raise
        rows = purchases.purchase_page(shopper=self.shopper, merchant_slug=slug, keyset=keyset)
        now = timezone.now()
        page = frequently_purchased.frequently_purchased_page(shopper=self.shopper, rows=rows, now=now)
        # FrequentlyPurchasedOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        return keyset.response(
            page,
            key=lambda item: (item.row.times_purchased, item.row.last_purchased_at, item.row.id),
            answer=lambda item: frequently_purchased.frequently_purchased_answer(item, now=now, tz=tz),
        )


class CouponExchangeApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        merchant = serializers.SlugField(max_length=50)
        template = model_field(CouponTemplate, "id", help_text="Id of a template with a points price.")

    @api_operation(
        summary="Buy a coupon with points",
        description="Spends the template's `points_price` from the shopper's membership of the "
        "merchant and issues the coupon, in one transaction. Not idempotent: each call buys "
        "another coupon, within the template's per-member limit (409 `coupon_limit_reached`) and "
        "stock (409 `coupon_out_of_stock`). Too few points is a 400 `insufficient_points`.",
        request=InputSerializer,
        responses={201: CouponOutput},
        examples=[
            OpenApiExample(
                "Buy template 7", value={"merchant": "acme-beauty", "template": 7}, request_only=True
            )
        ],
        errors=[
            members_errors.MerchantNotFound.on("merchant"),
            coupon_errors.TemplateNotFound.on("template"),
            coupon_errors.TemplateNotExchangeable.on("template"),
            coupon_errors.TemplateInactive,
            coupon_errors.NotAMember,
            coupon_errors.CouponOutOfStock,
            coupon_errors.CouponLimitReached,
            errors.InsufficientPoints,
        ],
        tags=["shopper"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        merchant = members_selectors.merchant_get(slug=data["merchant"])
        coupon = coupon_exchange(shopper=self.shopper, merchant=merchant, template_id=data["template"])
        coupon.merchant = merchant
        return Response(CouponOutput(coupon).data, status=status.HTTP_201_CREATED)
