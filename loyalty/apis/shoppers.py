"""The shop system's view of one shopper: the member view."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from core.schema import api_operation
from loyalty import selectors
from members import errors as members_errors
from members.authentication import MerchantApi
from storefront.models import MONEY


class MemberViewMembershipOutput(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField(help_text="`active`, or `left` (number and points wait for a rejoin).")
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    joined_at = serializers.DateTimeField()


class MemberViewPointsOutput(serializers.Serializer):
    balance = serializers.IntegerField(source="points_balance")
    lifetime_earned = serializers.IntegerField(source="lifetime_points")
    expiring_soon = serializers.IntegerField(
        source="points_expiring_soon", help_text="Points of the balance that expire by `expiring_by`."
    )
    expiring_by = serializers.DateTimeField(source="points_expiring_by")


class MemberViewCouponOutput(serializers.Serializer):
    code = serializers.CharField()
    template = serializers.IntegerField(source="template_id")
    name = serializers.CharField(source="template.name")
    source = serializers.CharField()
    expires_at = serializers.DateTimeField()


class MemberViewFollowOutput(serializers.Serializer):
    account = serializers.CharField(source="account.handle")
    account_kind = serializers.CharField(source="account.kind")
    iron_fan = serializers.BooleanField()
    iron_fan_since = serializers.DateTimeField(allow_null=True)
    followed_at = serializers.DateTimeField(source="created_at")


class MemberViewOrderOutput(serializers.Serializer):
    external_id = serializers.CharField()
    paid_at = serializers.DateTimeField()
    total = serializers.DecimalField(**MONEY)
    status = serializers.CharField()
    points_earned = serializers.IntegerField()


class MemberViewOutput(serializers.Serializer):
    shopper = serializers.CharField(source="shopper.external_id")
    display_name = serializers.CharField(source="shopper.display_name")
    membership = MemberViewMembershipOutput(allow_null=True, help_text="Null: never joined this merchant.")
    points = serializers.SerializerMethodField(help_text="Zero for a shopper who never joined.")
    usable_coupons = MemberViewCouponOutput(many=True, help_text="Soonest to expire first; at most 50.")
    fan_of = MemberViewFollowOutput(
        source="follows", many=True, help_text="The merchant's accounts the shopper follows, by handle."
    )
    recent_orders = MemberViewOrderOutput(many=True, help_text="The latest five, newest first.")

    @extend_schema_field(MemberViewPointsOutput)
    def get_points(self, view) -> dict:
        return MemberViewPointsOutput(view).data


class ShopperDetailApi(MerchantApi):
    @api_operation(
        summary="Read a shopper (the member view)",
        description="One shopper as this merchant knows them, by the platform's user id: "
        "membership and tier, points (balance, and how much of it expires within 30 days), "
        "coupons usable now, fan status for each of the merchant's accounts they follow, and their "
        "latest orders. A shopper with no membership, follow, order or coupon at this merchant is a "
        "404 `shopper_not_found`, as is an unknown id. Reads only.",
        responses=MemberViewOutput,
        errors=[members_errors.ShopperNotFound],
        tags=["merchant"],
    )
    def get(self, request, external_id: str):
        view = selectors.member_view(merchant=self.merchant, external_id=external_id, now=timezone.now())
        return Response(MemberViewOutput(view).data)
