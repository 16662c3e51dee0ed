from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs, **kwargs):
    if getattr(settings._wrapped, "SECRET_KEY", ""):
        return []
    return [
        Error("SECRET_KEY is not set.", hint="Set the SECRET_KEY environment variable.", id="fanbase.E001")
    ]
