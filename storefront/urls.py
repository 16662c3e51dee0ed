from core.routing import slash_optional
from storefront import apis

urlpatterns = [
    *slash_optional("merchant/products", apis.ProductCreateApi.as_view(), "merchant-products"),
    *slash_optional("merchant/products/<key:sku>", apis.ProductUpdateApi.as_view(), "merchant-product"),
]
