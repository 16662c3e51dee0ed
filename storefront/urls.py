from core.routing import slash_optional
from storefront import apis

urlpatterns = [
    *slash_optional("merchant/products", apis.ProductListCreateApi.as_view(), "merchant-products"),
    *slash_optional("merchant/products/<key:sku>", apis.ProductDetailApi.as_view(), "merchant-product"),
]
