"""Shopper auth, follows, and the merchant's accounts and tiers."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from core.api import PublicApi, moment_text, paginated_response, validated
from core.fields import SHOPPER_ID_VALIDATOR, model_field
from core.pagination import Keyset
from core.schema import api_operation
from members import errors, selectors, services
from members.authentication import MerchantApi, ShopperApi
from members.engagement import selectors as engagement_selectors
from members.engagement.models import iron_fan_ratio
from members.models import HANDLE_VALIDATOR, Account, Tier
from members.services.claims import CLAIM_CODE_TTL, MAX_CLAIM_ATTEMPTS

TokenOutput = inline_serializer("TokenOutput", {"token": serializers.CharField()})


class CredentialsInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[SHOPPER_ID_VALIDATOR])
    password = serializers.CharField(max_length=128, trim_whitespace=False)


# --- Shopper auth -------------------------------------------------------------


class AuthRegisterApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(CredentialsInput):
        claim_code = serializers.CharField(
            max_length=16,
            required=False,
            help_text="Needed when a merchant already named this platform id in an order or event: "
            "the one-time code the merchant's system got from "
            "`POST /api/v1/merchant/shoppers/{external_id}/claim-code` and gave the shopper.",
        )

    @api_operation(
        summary="Register a shopper",
        description="Creates a shopper login and answers its first token; the username is the "
        "shopper's platform id (the `shopper` that merchants' orders name). A username that is "
        "registered already is a 409 `username_taken`. A platform id that a merchant has already named "
        "(its shopper record exists, with points and coupons) needs `claim_code`: without it the answer "
        "is a 409 `claim_code_required`; a wrong, used or expired code is a 400 `claim_code_invalid`. "
        f"A code allows {MAX_CLAIM_ATTEMPTS} attempts and expires {CLAIM_CODE_TTL.seconds // 60} minutes "
        "after it was issued. A weak password is a 400 `password_too_weak` on `password`. Throttled "
        "per client (429).",
        request=InputSerializer,
        responses={201: TokenOutput},
        examples=[
            OpenApiExample(
                "A new shopper",
                value={"username": "douyin-4471", "password": "a long passphrase"},
                request_only=True,
            )
        ],
        errors=[
            errors.UsernameTaken,
            errors.ClaimCodeRequired,
            errors.ClaimCodeInvalid.on("claim_code"),
            errors.WeakPassword.on("password"),
        ],
        tags=["shopper auth"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        _, token = services.shopper_register(
            username=data["username"], password=data["password"], claim_code=data.get("claim_code")
        )
        return Response({"token": token}, status=status.HTTP_201_CREATED)


class AuthTokenApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @api_operation(
        summary="Log in",
        description="Answers a new token for a username and password; send it as "
        "`Authorization: Token <token>`. A wrong username or password is a **400** "
        "`invalid_credentials` (the credential is in the body, not in an `Authorization` header). "
        "A shopper holds a limited number of live tokens: a new login beyond it revokes the "
        "oldest. Throttled per client (429).",
        request=CredentialsInput,
        responses={200: TokenOutput},
        errors=[errors.InvalidCredentials],
        tags=["shopper auth"],
    )
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

    @api_operation(
        summary="List the accounts I follow",
        description="The shopper's follows, newest first, with the iron-fan status of each. Reads only.",
        responses=FollowOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        return paginated_response(self, request, selectors.follow_list(shopper=self.shopper), FollowOutput)

    @api_operation(
        summary="Follow an account",
        description="Follows a brand or KOE account by handle. Idempotent: 201 when the follow is "
        "made, 200 with the same follow when it exists already. An unknown handle is a 400 "
        "`account_not_found` on `account`.",
        request=InputSerializer,
        responses={201: FollowOutput, 200: FollowOutput},
        errors=[errors.AccountNotFound.on("account")],
        tags=["shopper"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        follow, created = services.follow_create(shopper=self.shopper, handle=data["account"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(FollowOutput(follow).data, status=code)


class FollowDeleteApi(ShopperApi):
    @api_operation(
        summary="Unfollow an account",
        description="Stops following the account. Idempotent: 204 also when the shopper did not "
        "follow it. An unknown handle is a 404 `account_not_found`.",
        responses={204: None},
        errors=[errors.AccountNotFound],
        tags=["shopper"],
    )
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


def account_with_fans_answer(account: engagement_selectors.AccountWithFans, *, tz) -> dict:
    """What ``AccountWithFansOutput`` makes of an account, built directly (times in ``tz``).
    tests/members/test_account_fans_apis.py checks the two agree."""
    return {
        "handle": account.handle,
        "kind": account.kind,
        "display_name": account.display_name,
        "created_at": moment_text(account.created_at, tz),
        "fans": account.fans,
        "iron_fans": account.iron_fans,
        "iron_fan_ratio": iron_fan_ratio(fans=account.fans, iron_fans=account.iron_fans),
    }


class AccountListCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        handle = serializers.CharField(max_length=50, validators=[HANDLE_VALIDATOR])
        kind = serializers.ChoiceField(choices=Account.Kind.choices)
        display_name = model_field(Account, "display_name")

    @api_operation(
        summary="List accounts",
        description="The merchant's brand account and its employees' (KOE) accounts, by handle, each "
        "with its fans, iron fans and iron-fan ratio. Reads only.",
        responses=AccountWithFansOutput(many=True),
        tags=["merchant"],
    )
    def get(self, request):
        keyset = Keyset.from_request(request, fields=engagement_selectors.ACCOUNT_PAGE_KEY, descending=False)
        rows = engagement_selectors.account_page_with_fans(merchant=self.merchant, keyset=keyset)
        # AccountWithFansOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        return keyset.response(
            rows, key=lambda account: (account.handle,), answer=lambda a: account_with_fans_answer(a, tz=tz)
        )

    @api_operation(
        summary="Add an account",
        description="Adds an employee (`koe`) account; a merchant has one `brand` account, made "
        "with the merchant. Handles are unique across merchants: a taken one is a 409 "
        "`account_handle_taken`.",
        request=InputSerializer,
        responses={201: AccountOutput},
        errors=[errors.AccountHandleTaken, errors.BrandAccountExists],
        tags=["merchant"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        account = services.account_create(merchant=self.merchant, **data)
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)


class TierOutput(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()
    min_spend_12m = serializers.DecimalField(max_digits=12, decimal_places=2)
    earn_multiplier = serializers.DecimalField(max_digits=5, decimal_places=2)


class TierListCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        name = model_field(Tier, "name")
        rank = model_field(Tier, "rank")
        min_spend_12m = model_field(Tier, "min_spend_12m")
        earn_multiplier = model_field(
            Tier, "earn_multiplier", min_value=Decimal("0.01"), default=Decimal("1")
        )

    @api_operation(
        summary="List tiers",
        description="The merchant's membership tiers, lowest rank first. Reads only.",
        responses=TierOutput(many=True),
        tags=["merchant"],
    )
    def get(self, request):
        tiers = selectors.tier_list(merchant=self.merchant)
        return paginated_response(self, request, tiers, TierOutput, ordering="rank")

    @api_operation(
        summary="Add a tier",
        description="Adds a membership tier. Members move up to the highest tier their spend over "
        "the last 12 months reaches; `earn_multiplier` scales the points they earn. A name or rank "
        "the merchant has already is a 409.",
        request=InputSerializer,
        responses={201: TierOutput},
        errors=[errors.TierNameTaken, errors.TierRankTaken],
        tags=["merchant"],
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        tier = services.tier_create(merchant=self.merchant, **data)
        return Response(TierOutput(tier).data, status=status.HTTP_201_CREATED)
