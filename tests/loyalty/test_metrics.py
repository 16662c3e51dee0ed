"""Prometheus metrics on /metrics: for a scraper on the loopback interface only.

Request counts and latencies per view come from django-prometheus' middlewares; Celery
task counts and failures from the task signals (loyalty/metrics.py).
"""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from core.models import OutboxMessage
from loyalty.celery import app as celery_app


def scrape(address: str = "127.0.0.1", **headers):
    return Client(REMOTE_ADDR=address, **headers).get("/metrics")


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1"])
def test_a_loopback_scraper_reads_the_metrics(db, address):
    response = scrape(address)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"django_http_requests_total_by_method" in response.content


@pytest.mark.parametrize(
    ("address", "headers"),
    [
        ("203.0.113.5", {}),
        ("10.1.2.3", {}),
        ("::ffff:203.0.113.5", {}),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}),  # a local reverse proxy passed it on
        ("127.0.0.1", {"HTTP_FORWARDED": "for=203.0.113.5"}),
        ("127.0.0.1", {"HTTP_X_REAL_IP": "203.0.113.5"}),
        ("", {}),
    ],
)
def test_anyone_else_gets_a_404_as_if_there_were_no_metrics(db, address, headers):
    response = scrape(address, **headers)

    assert response.status_code == 404
    assert b"django_http" not in response.content


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["fanbase.example"])
def test_production_host_checks_and_the_https_redirect_do_not_stop_a_local_scrape(db):
    local = Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1:8000").get("/metrics")
    remote = Client(REMOTE_ADDR="203.0.113.5", HTTP_HOST="fanbase.example").get("/metrics", secure=True)

    assert local.status_code == 200
    assert remote.status_code == 404


def test_requests_are_counted_and_timed_per_view(db, merchant_api):
    labels = {"view": "merchant-members", "method": "GET"}
    before = sample("django_http_requests_latency_seconds_by_view_method_count", **labels)

    merchant_api.get("/api/v1/merchant/members")
    merchant_api.get("/api/v1/merchant/members")

    page = scrape().content.decode()
    assert sample("django_http_requests_latency_seconds_by_view_method_count", **labels) == before + 2
    assert 'django_http_responses_total_by_status_view_method_total{method="GET",status="200",' in page
    assert 'view="merchant-members"' in page


@celery_app.task(name="tests.metrics.works")
def works():
    return "done"


@celery_app.task(name="tests.metrics.breaks")
def breaks():
    raise RuntimeError("boom")


def test_celery_tasks_are_counted_by_outcome_and_timed():
    ok = {"task": "tests.metrics.works", "outcome": "succeeded"}
    failed = {"task": "tests.metrics.breaks", "outcome": "failed"}
    before = (sample("fanbase_celery_tasks_total", **ok), sample("fanbase_celery_tasks_total", **failed))
    timed = sample("fanbase_celery_task_duration_seconds_count", task="tests.metrics.works")

    works.apply()
    works.apply()
    breaks.apply()

    assert sample("fanbase_celery_tasks_total", **ok) == before[0] + 2
    assert sample("fanbase_celery_tasks_total", **failed) == before[1] + 1
    assert sample("fanbase_celery_task_duration_seconds_count", task="tests.metrics.works") == timed + 2


def test_the_outbox_backlog_is_read_at_scrape_time(db):
    # given: two messages waiting, one of which failed to relay once
    OutboxMessage.objects.create(
        task="loyalty.noop", kwargs={}, created_at=timezone.now() - timedelta(minutes=5)
    )
    OutboxMessage.objects.create(task="loyalty.noop", kwargs={}, attempts=1)

    page = scrape().content.decode()

    assert "fanbase_outbox_backlog 2.0" in page
    assert "fanbase_outbox_failing 1.0" in page
    age = float(re.search(r"^fanbase_outbox_oldest_age_seconds (\S+)$", page, re.M).group(1))
    assert 299 <= age < 400


MULTIPROCESS_WORK = """
import django
django.setup()
from loyalty.celery import app
@app.task(name="tests.metrics.elsewhere")
def elsewhere():
    return 1
elsewhere.apply()
"""
MULTIPROCESS_SCRAPE = """
import django
django.setup()
from django.test import Client
print(Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode())
"""


def test_processes_sharing_a_multiprocess_directory_are_summed_in_one_scrape(tmp_path):
    # gunicorn's workers and Celery's pool are separate processes; `make run` gives them
    # one PROMETHEUS_MULTIPROC_DIR, and a scrape of any web process shows them all.
    root = Path(__file__).resolve().parents[2]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FANBASE_VAR_DIR": str(root / "var" / "test"),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }

    def python(code):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    python(MULTIPROCESS_WORK)
    python(MULTIPROCESS_WORK)
    page = python(MULTIPROCESS_SCRAPE)

    assert 'fanbase_celery_tasks_total{outcome="succeeded",task="tests.metrics.elsewhere"} 2.0' in page
