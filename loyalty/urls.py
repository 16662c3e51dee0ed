from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty import apis
from loyalty.health import healthz
from members.routing import slash_optional

api_v1 = [
    *slash_optional("me/memberships", apis.MembershipJoinApi.as_view(), "me-memberships"),
    *slash_optional("me/memberships/<slug:merchant>", apis.MembershipLeaveApi.as_view(), "me-membership"),
    *slash_optional("merchant/members", apis.MemberListApi.as_view(), "merchant-members"),
    path("", include("members.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
]
