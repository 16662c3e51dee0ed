"""Memberships and the merchant's member list: reads and writes that span the apps."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from loyalty import selectors
from loyalty.services.memberships import membership_enrol
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


class MembershipJoinApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        merchant = serializers.SlugField(max_length=50)

    @extend_schema(
        request=InputSerializer, responses={201: MembershipOutput, 200: MembershipOutput}, tags=["shopper"]
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        merchant = members_selectors.merchant_get(slug=data["merchant"])
        result = membership_enrol(shopper=self.shopper, merchant=merchant)
        code = status.HTTP_201_CREATED if result.joined else status.HTTP_200_OK
        return Response(MembershipOutput(result.membership).data, status=code)


class MembershipLeaveApi(ShopperApi):
    @extend_schema(responses={204: None}, tags=["shopper"])
    def delete(self, request, merchant: str):
        merchant_obj = members_selectors.merchant_get(slug=merchant)
        members_services.membership_leave(shopper=self.shopper, merchant=merchant_obj)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberOutput(serializers.Serializer):
    shopper = serializers.CharField(source="shopper.external_id")
    display_name = serializers.CharField(source="shopper.display_name")
    number = serializers.IntegerField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    joined_at = serializers.DateTimeField()
    iron_fan = serializers.BooleanField(source="is_iron_fan")
    points_balance = serializers.IntegerField()
    lifetime_points = serializers.IntegerField()


class MemberListApi(MerchantApi):
    class FilterSerializer(serializers.Serializer):
        iron_fan = serializers.BooleanField(required=False, allow_null=True, default=None)
        tier = serializers.CharField(required=False, max_length=50)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "iron_fan", bool, description="Only iron fans (true) or only the others (false)."
            ),
            OpenApiParameter("tier", str, description="Only members in the tier with this name."),
        ],
        responses=MemberOutput(many=True),
        tags=["merchant"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        members = selectors.member_list(merchant=self.merchant, **filters)

        def flag_iron_fans(page):
            members_selectors.mark_iron_fans(merchant=self.merchant, memberships=page)

        return paginated_response(self, request, members, MemberOutput, complete=flag_iron_fans)
