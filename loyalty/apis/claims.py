"""The merchant's side of a claim: a one-time code for a shopper to register their platform id."""

from rest_framework import serializers, status
from rest_framework.response import Response

from core.schema import api_operation
from loyalty import selectors
from members.authentication import MerchantApi
from members.errors import ShopperNotFound, ShopperRegistered
from members.services import claims


class ClaimCodeOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Give it to the shopper; it is shown once and stored hashed.")
    expires_at = serializers.DateTimeField()


class ShopperClaimCodeCreateApi(MerchantApi):
    @api_operation(
        request=None,
        responses={201: ClaimCodeOutput},
        errors=[ShopperNotFound, ShopperRegistered],
        tags=["merchant"],
        summary="A one-time code with which the shopper registers this platform id",
        description="A shopper record that a merchant's order or event created can only be registered "
        "(`POST /api/v1/auth/register` with `claim_code`) with a code from this endpoint, which the "
        "merchant's system gives the shopper out of band (the order confirmation, a message in the "
        f"platform). The code is valid for {claims.CLAIM_CODE_TTL.seconds // 60} minutes and "
        f"{claims.MAX_CLAIM_ATTEMPTS} attempts; asking again replaces this merchant's previous code. "
        "Only shoppers this merchant knows (members, fans, buyers, coupon holders) can be asked for: "
        "another is a 404 `shopper_not_found`; one who registered already is a 409 "
        "`shopper_registered`. Not idempotent: each call makes a new code.",
    )
    def post(self, request, external_id: str):
        shopper = selectors.shopper_of_merchant(merchant=self.merchant, external_id=external_id)
        code, expires_at = claims.claim_code_issue(merchant=self.merchant, shopper=shopper)
        return Response(
            ClaimCodeOutput({"code": code, "expires_at": expires_at}).data, status=status.HTTP_201_CREATED
        )
