"""Production settings, as a deployment loads them: `check --deploy` passes and a request
shows the security headers and secure cookies.

The real settings module (``loyalty.settings``, DEBUG off) in a fresh process, with the
environment a deployment sets (a secret key, its host, HSTS for a year).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "loyalty.settings",
    "SECRET_KEY": "prod-like-" + "k" * 50,
    "ALLOWED_HOSTS": "fanbase.example",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}

REQUESTS = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

# The admin page links static files; no collectstatic ran for this test, so they are
# served unhashed. Nothing else of the production settings is changed.
override_settings(
    STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
client = Client(HTTP_HOST="fanbase.example")
login = client.get("/admin/login/", secure=True)
plain = client.get("/admin/login/")
api = client.get("/api/v1/merchant/program", secure=True)
print(json.dumps({
    "login": {"status": login.status_code, "headers": dict(login.headers),
              "cookies": {k: dict(v) for k, v in login.cookies.items()}},
    "plain": {"status": plain.status_code, "location": plain.headers.get("Location")},
    "api": {"status": api.status_code, "headers": dict(api.headers)},
    "session": {"secure": settings.SESSION_COOKIE_SECURE, "httponly": settings.SESSION_COOKIE_HTTPONLY},
}))
"""


def run(args: list[str]) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FANBASE_VAR_DIR": str(ROOT / "var" / "test"),
        **PRODUCTION,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_deploy_check_passes_with_no_warning():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_production_request_carries_the_security_headers_and_secure_cookies():
    result = run(["-c", REQUESTS])
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    # HTTP is redirected to HTTPS
    assert seen["plain"]["status"] == 301
    assert seen["plain"]["location"].startswith("https://fanbase.example/")
    for page in ("login", "api"):
        headers = seen[page]["headers"]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert seen["api"]["status"] == 401  # the API never falls back to a session
    # the admin's login form is CSRF-protected with a Secure cookie; the session cookie is Secure too
    assert seen["login"]["status"] == 200
    csrf = seen["login"]["cookies"]["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"
    assert seen["session"] == {"secure": True, "httponly": True}


def test_a_login_post_without_the_csrf_token_is_refused():
    code = """
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="fanbase.example", enforce_csrf_checks=True)
print(client.post("/admin/login/", {"username": "a", "password": "b"}, secure=True).status_code)
"""
    result = run(["-c", code])

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "403"
