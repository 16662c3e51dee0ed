from django.contrib.admin.apps import AdminConfig


class DashboardAdminConfig(AdminConfig):
    """django.contrib.admin with the dashboard site (``loyalty.dashboard.site``): its index is the
    merchant's dashboard, its header names the staff's merchant. Kept apart from the site, which
    imports models, because this module is imported while the app registry is being built."""

    default_site = "loyalty.dashboard.site.DashboardAdminSite"
