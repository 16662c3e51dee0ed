from django.contrib.admin.apps import AdminConfig


class FanbaseAdminConfig(AdminConfig):
    """django.contrib.admin with Fanbase's site (``members.admin_site``): the site header
    names the staff user's merchant."""

    default_site = "members.admin_site.FanbaseAdminSite"
