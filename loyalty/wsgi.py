import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
application = get_wsgi_application()


def _require_secret_key() -> None:
    from django.conf import settings

    try:
        settings.SECRET_KEY  # noqa: B018 (Django raises when it is empty)
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY, or DEBUG=1 for local development."
        ) from None


# Fail at start, not at the first request that signs a cookie.
_require_secret_key()
