from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.routing import api_not_found, slash_optional
from loyalty.apis import claims, engagement, feed, memberships, orders, program, shopper, shoppers
from loyalty.dashboard import apis as dashboard_apis
from loyalty.health import healthz

api_v1 = [
    *slash_optional("me/wallet", shopper.WalletApi.as_view(), "me-wallet"),
    *slash_optional("me/memberships", memberships.MembershipListJoinApi.as_view(), "me-memberships"),
    *slash_optional(
        "me/memberships/<slug:merchant>", memberships.MembershipLeaveApi.as_view(), "me-membership"
    ),
    *slash_optional("me/memberships/<slug:merchant>/points", shopper.PointsLedgerApi.as_view(), "me-points"),
    *slash_optional(
        "me/frequently-purchased", shopper.FrequentlyPurchasedApi.as_view(), "me-frequently-purchased"
    ),
    *slash_optional("me/feed", feed.FeedApi.as_view(), "me-feed"),
    *slash_optional("me/coupons/exchange", shopper.CouponExchangeApi.as_view(), "me-coupons-exchange"),
    *slash_optional("merchant/members", memberships.MemberListApi.as_view(), "merchant-members"),
    *slash_optional("merchant/program", program.ProgramApi.as_view(), "merchant-program"),
    *slash_optional("merchant/engagement", engagement.EngagementRecordApi.as_view(), "merchant-engagement"),
    *slash_optional("merchant/orders", orders.OrderListCreateApi.as_view(), "merchant-orders"),
    *slash_optional("merchant/orders/<key:external_id>", orders.OrderDetailApi.as_view(), "merchant-order"),
    *slash_optional(
        "merchant/shoppers/<key:external_id>", shoppers.ShopperDetailApi.as_view(), "merchant-shopper"
    ),
    *slash_optional(
        "merchant/orders/<key:external_id>/refunds",
        orders.RefundCreateApi.as_view(),
        "merchant-order-refunds",
    ),
    *slash_optional(
        "merchant/shoppers/<key:external_id>/claim-code",
        claims.ShopperClaimCodeCreateApi.as_view(),
        "merchant-shopper-claim-code",
    ),
    *slash_optional("merchant/metrics", dashboard_apis.MerchantMetricsApi.as_view(), "merchant-metrics"),
    path("", include("members.urls")),
    path("", include("storefront.urls")),
    path("", include("coupons.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    # Last: whatever else is asked under /api/ is a 404 in the API's error shape.
    re_path(r"^api/", api_not_found),
]
