"""The admin site with the merchant's dashboard as its index page.

Merchant staff land on their merchant's charts; a superuser picks a merchant first.
The charts are drawn in the browser from the JSON views of ``loyalty.dashboard.charts``
with Chart.js, vendored under ``loyalty/static/dashboard/vendor`` (docs/dashboard.md).
"""

from django.http import Http404
from django.urls import path, reverse

from loyalty.dashboard.charts import CHARTS, chart_view, dashboard_merchant
from members.admin_site import FanbaseAdminSite
from members.models import Merchant


class DashboardAdminSite(FanbaseAdminSite):
    index_template = "admin/dashboard/index.html"

    def get_urls(self):
        return [
            path("dashboard/charts/<slug:chart>/", self.admin_view(chart_view), name="dashboard_chart"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        try:
            merchant = dashboard_merchant(request)
        except Http404:
            merchant = None  # a staff user without a merchant, or a bad pick: the plain index
        query = f"?merchant={merchant.slug}" if merchant is not None and request.user.is_superuser else ""
        context = {
            "dashboard_merchant": merchant,
            "dashboard_charts": [
                {
                    "name": chart.name,
                    "title": chart.title,
                    "url": reverse(f"{self.name}:dashboard_chart", args=[chart.name]) + query,
                }
                for chart in CHARTS.values()
            ]
            if merchant is not None
            else [],
            "merchant_choices": (
                list(Merchant.objects.order_by("name").values("slug", "name"))
                if request.user.is_superuser
                else []
            ),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
