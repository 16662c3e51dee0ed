"""No secret in the repository, and none in the logs.

The logs: requests of every kind (registration and login with a password, a merchant's
reads and writes with its API key, a shopper's with a token, wrong and revoked
credentials, refusals) run with every logger at DEBUG, with SQL logging on
(``DEBUG=True``, so Django logs each query), and the captured records, formatted
plain and as JSON (LOG_FORMAT=json), are grepped for the password, the tokens, the
API key and their secret halves.

The repository: every tracked file is grepped for private keys, cloud access keys and
credentials of this project's own shapes (an API key, a knox token).
"""

import logging
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from tests.tenants import tenant_build

ROOT = Path(__file__).resolve().parents[1]


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured_logs():
    """Every logger at DEBUG into one handler, as LOG_LEVEL=DEBUG would, restored after."""
    handler = Capture()
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def _rendered(records) -> str:
    plain = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    as_json = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    lines = []
    for record in records:
        lines.append(plain.format(record))
        lines.append(as_json.format(record))
    return "\n".join(lines)


@override_settings(DEBUG=True)
def test_requests_at_debug_log_no_token_key_or_password(db, captured_logs):
    tenant = tenant_build("logs")
    password = "a-Secret-Pass-4-logs"
    api = APIClient()
    registered = api.post(
        "/api/v1/auth/register", {"username": "log-shopper", "password": password}, format="json"
    )
    login = api.post("/api/v1/auth/token", {"username": "log-shopper", "password": password}, format="json")
    wrong = api.post(
        "/api/v1/auth/token", {"username": "log-shopper", "password": password + "x"}, format="json"
    )
    assert (registered.status_code, login.status_code, wrong.status_code) == (201, 200, 400)
    tokens = [registered.json()["token"], login.json()["token"], tenant.token]

    merchant = APIClient()
    merchant.credentials(HTTP_AUTHORIZATION=tenant.merchant_auth)
    shopper = APIClient()
    shopper.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    statuses = [
        merchant.get("/api/v1/merchant/members").status_code,
        merchant.post(
            "/api/v1/merchant/orders",
            {
                "external_id": "log-o-9",
                "shopper": "log-shopper",
                "lines": [{"sku": tenant.product.sku, "quantity": 1, "unit_price": "10.00"}],
            },
            format="json",
        ).status_code,
        merchant.get("/api/v1/merchant/orders/nope").status_code,
        merchant.post("/api/v1/merchant/orders", {"lines": "x"}, format="json").status_code,
        shopper.get("/api/v1/me/wallet").status_code,
        shopper.post("/api/v1/me/memberships", {"merchant": tenant.merchant.slug}, format="json").status_code,
        shopper.get("/api/v1/merchant/members").status_code,  # a token on a merchant route
        merchant.get("/api/v1/me/wallet").status_code,  # a key on a shopper route
    ]
    wrong_key = APIClient()
    wrong_key.credentials(HTTP_AUTHORIZATION=tenant.merchant_auth[:-3] + "abc")
    wrong_token = APIClient()
    wrong_token.credentials(HTTP_AUTHORIZATION=f"Token {tokens[0][:-3]}abc")
    statuses += [wrong_key.get("/api/v1/merchant/members").status_code]
    statuses += [wrong_token.get("/api/v1/me/wallet").status_code]
    assert statuses == [200, 201, 404, 400, 200, 201, 401, 401, 401, 401]

    logs = _rendered(captured_logs.records)
    assert len(captured_logs.records) > 50, (
        "SQL and request logging did not run: the test would prove nothing"
    )
    key_secret = tenant.api_key.split(".", 1)[1]
    secrets = {"password": password, "api key": tenant.api_key, "api key secret": key_secret}
    for n, token in enumerate(tokens):
        secrets[f"token {n}"] = token
        secrets[f"token {n} secret half"] = token[15:]  # knox keeps the first 15 characters as a lookup key
    leaked = [name for name, secret in secrets.items() if secret in logs]
    assert not leaked, f"secrets in the logs: {leaked}"


PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "merchant API key": re.compile(r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}\b"),
    "knox token": re.compile(r"\b[0-9a-f]{64}\b"),
    "Authorization header with a value": re.compile(r"(?:Api-Key|Token) [A-Za-z0-9]{8}\.?[A-Za-z0-9]{24,}"),
}


def test_no_tracked_file_holds_a_secret():
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    found = []
    for name in filter(None, files):
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {kind}" for kind, pattern in PATTERNS.items() if pattern.search(text)]
    assert len(files) > 100
    assert not found, f"possible secrets in tracked files: {found}"


def test_the_demo_credentials_file_and_local_databases_are_not_tracked():
    ignored = subprocess.run(
        ["git", "check-ignore", "var/demo.txt", "db.sqlite3", "var/prometheus/x.db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == ["var/demo.txt", "db.sqlite3", "var/prometheus/x.db"]
