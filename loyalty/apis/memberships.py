"""Memberships and the merchant's member list: reads and writes that span the apps."""

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import moment_text, paginated_response, validated
from core.pagination import Keyset
from core.schema import api_operation
from loyalty import selectors
from loyalty.services.memberships import membership_enrol
from members import errors as members_errors
from members import selectors as members_selectors
from members import services as members_services
from members.authentication import MerchantApi, ShopperApi


class MerchantRefOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class MembershipOutput(serializers.Serializer):
    merchant = MerchantRefOutput()
    number = serializers.IntegerField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    status = serializers.CharField()
    joined_at = serializers.DateTimeField()


class MembershipListJoinApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        merchant = serializers.SlugField(max_length=50, help_text="The merchant's slug.")

    @api_operation(
        summary="List my memberships",
        description="The shopper's memberships, active and left, newest first: merchant, number, "
        "tier, status. The wallet (`GET /me/wallet`) adds points and coupons to the active ones. "
        "Reads only.",
        responses=MembershipOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        memberships = selectors.membership_list(shopper=self.shopper)
        return paginated_response(self, request, memberships, MembershipOutput)

    @api_operation(
        summary="Join a merchant's membership",
        description="Joins, or rejoins after leaving (same number and points). The first join pays "
        "the program's join bonus and issues its join coupon, once per shopper and merchant ever. "
        "Idempotent: 201 when the membership is made or reactivated, 200 with it when the shopper "
        "is an active member already. An unknown merchant is a 400 `merchant_not_found` on `merchant`.",
        request=InputSerializer,
        responses={201: MembershipOutput, 200: MembershipOutput},
        errors=[members_errors.MerchantNotFound.on("merchant")],
        tags=["shopper"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        merchant = members_selectors.merchant_get(slug=data["merchant"])
        result = membership_enrol(shopper=self.shopper, merchant=merchant)
        code = status.HTTP_201_CREATED if result.joined else status.HTTP_200_OK
        return Response(MembershipOutput(result.membership).data, status=code)


class MembershipLeaveApi(ShopperApi):
    @api_operation(
        summary="Leave a membership",
        description="Leaves the merchant's membership; its number and points wait for a rejoin. "
        "Idempotent, as unfollowing is: 204 also when the shopper is not (or no longer) a member. "
        "An unknown merchant is a 404 `merchant_not_found`.",
        responses={204: None},
        errors=[members_errors.MerchantNotFound],
        tags=["shopper"],
    )
    def delete(self, request, merchant: str):
        merchant_obj = members_selectors.merchant_get(slug=merchant)
        members_services.membership_leave(shopper=self.shopper, merchant=merchant_obj)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberOutput(serializers.Serializer):
    shopper = serializers.CharField(source="shopper.external_id")
    display_name = serializers.CharField(source="shopper.display_name")
    number = serializers.IntegerField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    tier_since = serializers.DateTimeField(
        allow_null=True,
        help_text="When the member reached their tier (an order, the nightly review or staff moved "
        "them); the tier history is in the admin.",
    )
    joined_at = serializers.DateTimeField()
    iron_fan = serializers.BooleanField()
    points_balance = serializers.IntegerField()
    lifetime_points = serializers.IntegerField()


def member_answer(member: selectors.MemberRow, *, tz) -> dict:
    """What ``MemberOutput`` makes of a member, built directly (times in ``tz``).
    tests/loyalty/test_member_list_api.py checks the two agree."""
    return {
        "shopper": member.shopper_external_id,
        "display_name": member.shopper_display_name,
        "number": member.number,
        "tier": member.tier_name,
        "tier_since": moment_text(member.tier_since, tz),
        "joined_at": moment_text(member.joined_at, tz),
        "iron_fan": member.iron_fan,
        "points_balance": member.points_balance,
        "lifetime_points": member.lifetime_points,
    }


class MemberListApi(MerchantApi):
    class FilterSerializer(serializers.Serializer):
        iron_fan = serializers.BooleanField(
            required=False, help_text="Only iron fans (true) or only the others (false)."
        )
        tier = serializers.CharField(
            required=False, max_length=50, help_text="Only members in the tier with this name."
        )

    @api_operation(
        summary="List members",
        description="The merchant's active members, newest first, with tier, points and whether "
        "they are an iron fan of any of the merchant's accounts. An unknown `tier` is a 400 "
        "`tier_not_found` on that filter. Reads only.",
        filters=FilterSerializer,
        responses=MemberOutput(many=True),
        errors=[members_errors.TierNotFound.on("tier")],
        tags=["merchant"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        tier = filters.get("tier")
        # The tier first: an unknown one is a 400 whatever the cursor, as it always was.
        tier_id = None if tier is None else members_selectors.tier_id_named(merchant=self.merchant, name=tier)
        keyset = Keyset.from_request(request, fields=selectors.MEMBER_PAGE_KEY, descending=True)
        rows = selectors.member_page(
            merchant=self.merchant, keyset=keyset, iron_fan=filters.get("iron_fan"), tier_id=tier_id
        )
        # MemberOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        return keyset.response(
            rows, key=lambda member: (member.id,), answer=lambda member: member_answer(member, tz=tz)
        )
