"""Shopper auth, follows, and the merchant's accounts and tiers."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from core.api import PublicApi, paginated_response, validated
from members import selectors, services
from members.authentication import MerchantApi, ShopperApi
from members.engagement import selectors as engagement_selectors
from members.engagement.models import iron_fan_ratio
from members.models import HANDLE_VALIDATOR, Account

TokenOutput = inline_serializer("TokenOutput", {"token": serializers.CharField()})


class CredentialsInput(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


# --- Shopper auth -------------------------------------------------------------


class AuthRegisterApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=CredentialsInput, responses={201: TokenOutput}, tags=["shopper auth"])
    def post(self, request):
        data = validated(CredentialsInput, request)
        _, token = services.shopper_register(username=data["username"], password=data["password"])
        return Response({"token": token}, status=status.HTTP_201_CREATED)


class AuthTokenApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=CredentialsInput, responses={200: TokenOutput}, tags=["shopper auth"])
    def post(self, request):
        data = validated(CredentialsInput, request)
        token = services.shopper_token_create(username=data["username"], password=data["password"])
        return Response({"token": token})


# --- Follows ------------------------------------------------------------------


class FollowOutput(serializers.Serializer):
    account = serializers.CharField(source="account.handle")
    account_kind = serializers.CharField(source="account.kind")
    display_name = serializers.CharField(source="account.display_name")
    merchant = serializers.CharField(source="account.merchant.slug")
    iron_fan = serializers.BooleanField()
    iron_fan_since = serializers.DateTimeField(allow_null=True)
    followed_at = serializers.DateTimeField(source="created_at")


class FollowListCreateApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        account = serializers.CharField(max_length=50)

    @extend_schema(responses=FollowOutput(many=True), tags=["shopper"])
    def get(self, request):
        return paginated_response(self, request, selectors.follow_list(shopper=self.shopper), FollowOutput)

    @extend_schema(
        request=InputSerializer, responses={201: FollowOutput, 200: FollowOutput}, tags=["shopper"]
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        follow, created = services.follow_create(shopper=self.shopper, handle=data["account"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(FollowOutput(follow).data, status=code)


class FollowDeleteApi(ShopperApi):
    @extend_schema(responses={204: None}, tags=["shopper"])
    def delete(self, request, handle: str):
        services.follow_delete(shopper=self.shopper, handle=handle)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Merchant: accounts and tiers -----------------------------------------------


class AccountOutput(serializers.Serializer):
    handle = serializers.CharField()
    kind = serializers.CharField()
    display_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class AccountWithFansOutput(AccountOutput):
    fans = serializers.IntegerField(help_text="Shoppers following the account.")
    iron_fans = serializers.IntegerField(help_text="Followers who are iron fans now.")
    iron_fan_ratio = serializers.SerializerMethodField(
        help_text="iron_fans / fans, 4 decimals; 0 without fans."
    )

    @extend_schema_field(serializers.FloatField())
    def get_iron_fan_ratio(self, account) -> float:
        return iron_fan_ratio(fans=account.fans, iron_fans=account.iron_fans)


class AccountListCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        handle = serializers.CharField(max_length=50, validators=[HANDLE_VALIDATOR])
        kind = serializers.ChoiceField(choices=Account.Kind.choices)
        display_name = serializers.CharField(max_length=150)

    @extend_schema(responses=AccountWithFansOutput(many=True), tags=["merchant"])
    def get(self, request):
        accounts = engagement_selectors.account_list_with_fans(merchant=self.merchant)
        return paginated_response(self, request, accounts, AccountWithFansOutput, ordering="handle")

    @extend_schema(request=InputSerializer, responses={201: AccountOutput}, tags=["merchant"])
    def post(self, request):
        data = validated(self.InputSerializer, request)
        account = services.account_create(merchant=self.merchant, **data)
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)


class TierOutput(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()
    min_spend_12m = serializers.DecimalField(max_digits=12, decimal_places=2)
    earn_multiplier = serializers.DecimalField(max_digits=5, decimal_places=2)


class TierCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        rank = serializers.IntegerField(min_value=0, max_value=32767)
        min_spend_12m = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
        earn_multiplier = serializers.DecimalField(
            max_digits=5, decimal_places=2, min_value=Decimal("0.01"), default=Decimal("1")
        )

    @extend_schema(request=InputSerializer, responses={201: TierOutput}, tags=["merchant"])
    def post(self, request):
        data = validated(self.InputSerializer, request)
        tier = services.tier_create(merchant=self.merchant, **data)
        return Response(TierOutput(tier).data, status=status.HTTP_201_CREATED)
