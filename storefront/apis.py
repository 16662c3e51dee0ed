"""The merchant's catalog: products by sku."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import IDENTIFIER_VALIDATOR, BoundedListField, TextField, model_field
from core.schema import api_operation
from members.authentication import MerchantApi
from members.models import SLUG_VALIDATOR
from storefront import errors, selectors, services
from storefront.models import Product

TAGS = ["merchant catalog"]


class ProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    published = serializers.SerializerMethodField()
    published_at = serializers.DateTimeField(allow_null=True)

    def get_published(self, product) -> bool:
        return product.published_at is not None


class ProductFields(serializers.Serializer):
    title = model_field(Product, "title")
    category = serializers.CharField(
        max_length=50,
        allow_null=True,
        required=False,
        validators=[SLUG_VALIDATOR],
        help_text="The merchant's category slug; created on first use.",
    )
    tags = BoundedListField(child=TextField(max_length=40), max_length=30, required=False)
    price = model_field(Product, "price")
    published = serializers.BooleanField(required=False)


PRODUCT_EXAMPLE = {
    "sku": "LIP-01",
    "title": "Velvet lipstick",
    "category": "makeup",
    "tags": ["lipstick", "matte"],
    "price": "89.00",
    "published": True,
}


class ProductListCreateApi(MerchantApi):
    class InputSerializer(ProductFields):
        sku = model_field(
            Product,
            "sku",
            validators=[IDENTIFIER_VALIDATOR],
            help_text="The merchant's product code, unique per merchant; no '/' (it is a path segment).",
        )

    class FilterSerializer(serializers.Serializer):
        published = serializers.BooleanField(
            required=False, help_text="Only published (true) or unpublished."
        )
        category = serializers.CharField(
            max_length=50, required=False, validators=[SLUG_VALIDATOR], help_text="Only this category (slug)."
        )
        sku_prefix = serializers.CharField(
            max_length=64, required=False, help_text="Skus starting with this."
        )

    @api_operation(
        summary="List products",
        description="The merchant's catalog in sku order. Filter by `published`, `category` (slug) and "
        "`sku_prefix`. Reads only.",
        filters=FilterSerializer,
        responses=ProductOutput(many=True),
        tags=TAGS,
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        products = selectors.product_list(merchant=self.merchant, **filters)
        return paginated_response(self, request, products, ProductOutput, ordering="sku")

    @api_operation(
        summary="Add a product",
        description="Adds a product to the catalog. A `category` slug the merchant has not used yet "
        "creates that category. `published: true` publishes it now. A sku the merchant already has "
        "is a 409 `product_sku_taken`; change a product with `PATCH /merchant/products/{sku}`.",
        request=InputSerializer,
        responses={201: ProductOutput},
        examples=[OpenApiExample("A lipstick", value=PRODUCT_EXAMPLE, request_only=True)],
        errors=[errors.ProductSkuTaken],
        tags=TAGS,
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        product = services.product_create(merchant=self.merchant, **data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(MerchantApi):
    class InputSerializer(ProductFields):
        pass

    @api_operation(
        summary="Read a product",
        description="One product of the catalog by sku. Reads only.",
        responses=ProductOutput,
        errors=[errors.ProductNotFound],
        tags=TAGS,
    )
    def get(self, request, sku: str):
        return Response(ProductOutput(selectors.product_get(merchant=self.merchant, sku=sku)).data)

    @api_operation(
        summary="Change a product",
        description="Changes the fields given, leaves the others. `published: true` publishes an "
        "unpublished product (its `published_at` is now); `false` unpublishes it. Sending the same "
        "change twice is harmless.",
        request=InputSerializer,
        responses=ProductOutput,
        errors=[errors.ProductNotFound],
        tags=TAGS,
    )
    def patch(self, request, sku: str):
        data = validated(self.InputSerializer, request, partial=True)
        product = services.product_update(merchant=self.merchant, sku=sku, **data)
        return Response(ProductOutput(product).data)
