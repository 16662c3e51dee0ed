"""The admin site: headed with the merchant whose staff is looking, in people's words."""

from django.contrib import admin

from members.admin_scoping import staff_merchant


class FanbaseAdminSite(admin.AdminSite):
    site_title = "Fanbase"
    site_header = "Fanbase"
    index_title = "Administration"

    def each_context(self, request):
        context = super().each_context(request)
        merchant = staff_merchant(request) if request.user.is_authenticated else None
        if merchant is not None:
            context["site_header"] = f"Fanbase — {merchant.name}"
        return context
