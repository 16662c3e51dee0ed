from core.routing import slash_optional
from storefront import apis, shopper_apis

urlpatterns = [
    *slash_optional("merchant/products", apis.ProductCreateApi.as_view(), "merchant-products"),
    *slash_optional("merchant/products/<str:sku>", apis.ProductUpdateApi.as_view(), "merchant-product"),
    *slash_optional("me/preferences", shopper_apis.PreferenceListApi.as_view(), "me-preferences"),
]
