"""drf-spectacular descriptions of the two authentication schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class MerchantApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "members.authentication.MerchantApiKeyAuthentication"
    name = "merchantApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A merchant's shop-system key, `Api-Key <key>`, from `manage.py create_merchant`.",
        }


class ShopperTokenScheme(OpenApiAuthenticationExtension):
    target_class = "members.authentication.ShopperTokenAuthentication"
    name = "shopperToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A shopper's token from /api/v1/auth/register or /auth/token: `Token <token>`.",
        }
