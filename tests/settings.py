"""Test settings: the real settings, read from the same environment, plus speed.

``make test`` runs on SQLite by default, and on PostgreSQL + Redis when
``DATABASE_URL``/``CELERY_BROKER_URL``/``REDIS_URL`` point there (CI does both).
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
os.environ.setdefault("FANBASE_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from loyalty.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
# Throttles are tested on their own with a low rate; elsewhere they stay out of the way.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "10000/min"}}  # noqa: F405
# Admin pages are rendered in tests without collectstatic having run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT = VAR_DIR / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# schemathesis calls the WSGI app in process as "localhost"; the live-server client too.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "localhost", "testserver"]  # noqa: F405
