"""drf-spectacular descriptions of the two authentication schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema


class MerchantApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "members.authentication.MerchantApiKeyAuthentication"
    name = "merchantApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A merchant's shop-system key: `Api-Key <key>`.",
        }


class ShopperTokenScheme(OpenApiAuthenticationExtension):
    target_class = "members.authentication.ShopperTokenAuthentication"
    name = "shopperToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A shopper's token from /api/v1/auth/token: `Token <token>`.",
        }


class AutoSchema(StandardizedErrorsAutoSchema):
    """Names a view's nested ``InputSerializer`` after its view: ``OrderCreateInput``.

    The style nests an ``InputSerializer`` in every view; without this, they would
    all be one component called ``Input`` in the OpenAPI schema.
    """

    def get_serializer_name(self, serializer, direction):
        cls = type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer:
            view = outer.rsplit(".", 1)[-1].removesuffix("Api")
            return f"{view}{inner.removesuffix('Serializer')}"
        return super().get_serializer_name(serializer, direction)
