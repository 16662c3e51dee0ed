"""The merchant's catalog: products by sku."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import validated
from core.fields import IDENTIFIER_VALIDATOR, BoundedListField, TextField, model_field
from members.authentication import MerchantApi
from members.models import SLUG_VALIDATOR
from storefront import services
from storefront.models import Product


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
        help_text="Slug; created on first use.",
    )
    tags = BoundedListField(child=TextField(max_length=40), max_length=30, required=False)
    price = model_field(Product, "price")
    published = serializers.BooleanField(required=False)


class ProductCreateApi(MerchantApi):
    class InputSerializer(ProductFields):
        sku = model_field(
            Product, "sku", validators=[IDENTIFIER_VALIDATOR], help_text="No '/': it is a path segment."
        )

    @extend_schema(request=InputSerializer, responses={201: ProductOutput}, tags=["merchant catalog"])
    def post(self, request):
        data = validated(self.InputSerializer, request)
        product = services.product_create(merchant=self.merchant, **data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


class ProductUpdateApi(MerchantApi):
    class InputSerializer(ProductFields):
        pass

    @extend_schema(request=InputSerializer, responses=ProductOutput, tags=["merchant catalog"])
    def patch(self, request, sku: str):
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(merchant=self.merchant, sku=sku, **serializer.validated_data)
        return Response(ProductOutput(product).data)
