from core.routing import slash_optional
from storefront import apis, rollout_apis, shopper_apis

urlpatterns = [
    *slash_optional("merchant/products", apis.ProductListCreateApi.as_view(), "merchant-products"),
    *slash_optional("merchant/products/<key:sku>", apis.ProductDetailApi.as_view(), "merchant-product"),
    *slash_optional(
        "merchant/products/<key:sku>/rollout",
        rollout_apis.RolloutGetApi.as_view(),
        "merchant-product-rollout",
    ),
    *slash_optional("me/inbox", shopper_apis.InboxListApi.as_view(), "me-inbox"),
    *slash_optional("me/inbox/<int:id>/open", shopper_apis.InboxOpenApi.as_view(), "me-inbox-open"),
    *slash_optional("me/preferences", shopper_apis.PreferenceListApi.as_view(), "me-preferences"),
]
