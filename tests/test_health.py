"""GET /healthz, and the API schema and docs that must work with no network."""

import re
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.db.utils import OperationalError

from loyalty.celery import app as celery_app

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"
CDN_WORDS = ("cdn", "unpkg", "jsdelivr", "cdnjs", "googleapis")


@pytest.fixture
def unreachable_broker(settings, monkeypatch):
    """Point Django's setting and the Celery app at a dead broker; put both back afterwards.

    Celery's ``conf.broker_url`` prefers the CELERY_BROKER_URL environment variable (set
    when the suite runs against Redis) to the configured value, so that moves too.
    """
    saved = {key: celery_app.conf[key] for key in ("broker_url", "broker_write_url")}
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    monkeypatch.setenv("CELERY_BROKER_URL", UNREACHABLE_BROKER)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    celery_app.conf.broker_url = UNREACHABLE_BROKER
    celery_app.conf.broker_write_url = None
    yield
    for key, value in saved.items():
        celery_app.conf[key] = value


def test_healthz_is_200_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_healthz_is_503_naming_the_broker_when_it_is_unreachable(client, db, unreachable_broker):
    started = time.monotonic()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert len(body["problems"]) == 1
    assert body["problems"][0].startswith("broker:")
    assert time.monotonic() - started < django_settings.HEALTHZ_BROKER_TIMEOUT * 5


def test_the_broker_is_restored_after_the_unreachable_broker_test(client, db):
    # The fixture above must not leak its dead broker into later tests.
    assert celery_app.conf.broker_url != UNREACHABLE_BROKER
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_naming_the_database_when_it_fails(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    monkeypatch.undo()

    assert response.status_code == 503
    assert [p.split(":")[0] for p in response.json()["problems"]] == ["database"]


def test_healthz_answers_get_only(client, db):
    assert client.post("/healthz").status_code == 405


def test_the_openapi_schema_is_served(client, db):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/register" in schema["paths"]
    assert {"merchantApiKey", "shopperToken"} <= set(schema["components"]["securitySchemes"])
    assert not any(word in response.content.decode().lower() for word in CDN_WORDS)


def test_the_api_docs_load_swagger_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert not [word for word in CDN_WORDS if word in html.lower()]
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    static_assets = [
        a for a in assets if a.startswith(django_settings.STATIC_URL) or a.startswith("/static/")
    ]
    assert any("swagger-ui" in a for a in static_assets), assets
    for asset in static_assets:
        path = asset.split("?")[0].split("/static/", 1)[1]
        assert finders.find(path), f"{asset} is not among the project's static files"
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
