"""Test settings: the real settings, read from the same environment, plus speed.

``make test`` runs on SQLite by default, and on PostgreSQL + Redis when
``DATABASE_URL``/``CELERY_BROKER_URL``/``REDIS_URL`` point there (CI does both).
"""

import os

# Under pytest-xdist (`make test` runs two workers) each worker has its own test database,
# so it gets its own var folder (file cache, filesystem broker), cache keys and queue on the
# broker too: a Celery worker that one test process starts must never run another's tasks
# against the wrong database. The processes a test starts inherit the variable.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
os.environ.setdefault(
    "FANBASE_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test", XDIST_WORKER)
)

from loyalty.settings import *  # noqa: E402, F403

if XDIST_WORKER:
    CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": XDIST_WORKER}}  # noqa: F405
    # Tasks go to, and test-started workers consume, this process's own queue.
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{XDIST_WORKER}"

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
