"""The merchant's side of a claim: a one-time code for a shopper to register their platform id."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_standardized_errors.openapi_serializers import ErrorResponse401Serializer, ErrorResponse404Serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from loyalty import selectors
from members.authentication import MerchantApi
from members.errors import ShopperNotFound, ShopperRegistered
from members.services import claims


class ClaimCodeOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Give it to the shopper; it is shown once and stored hashed.")
    expires_at = serializers.DateTimeField()


ConflictOutput = inline_serializer(
    "ClaimCodeConflictResponse",
    {
        "type": serializers.ChoiceField(choices=["client_error"]),
        "errors": inline_serializer(
            "ClaimCodeConflictError",
            {
                "code": serializers.ChoiceField(choices=[ShopperRegistered.code]),
                "detail": serializers.CharField(),
                "attr": serializers.CharField(allow_null=True),
            },
            many=True,
        ),
    },
)


class ShopperClaimCodeCreateApi(MerchantApi):
    @extend_schema(
        request=None,
        responses={
            201: ClaimCodeOutput,
            401: ErrorResponse401Serializer,
            404: OpenApiResponse(
                ErrorResponse404Serializer,
                description=f"`{ShopperNotFound.code}`: not a shopper of this merchant.",
            ),
            409: OpenApiResponse(
                ConflictOutput, description=f"`{ShopperRegistered.code}`: the shopper has a login already."
            ),
        },
        tags=["merchant"],
        summary="A one-time code with which the shopper registers this platform id",
        description="A shopper record that a merchant's order or event created can only be registered "
        "(`POST /api/v1/auth/register` with `claim_code`) with a code from this endpoint, which the "
        "merchant's system gives the shopper out of band (the order confirmation, a message in the "
        f"platform). The code is valid for {claims.CLAIM_CODE_TTL.seconds // 60} minutes and "
        f"{claims.MAX_CLAIM_ATTEMPTS} attempts; asking again replaces this merchant's previous code. "
        "Only shoppers this merchant knows (members, fans, buyers, coupon holders) can be asked for.",
    )
    def post(self, request, external_id: str):
        shopper = selectors.shopper_of_merchant(merchant=self.merchant, external_id=external_id)
        code, expires_at = claims.claim_code_issue(merchant=self.merchant, shopper=shopper)
        return Response(
            ClaimCodeOutput({"code": code, "expires_at": expires_at}).data, status=status.HTTP_201_CREATED
        )
