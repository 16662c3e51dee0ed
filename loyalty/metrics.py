"""Prometheus metrics: the loopback-only ``/metrics`` endpoint, Celery task counters and backlogs.

- Requests: django-prometheus' middlewares count requests and time them per view
  (``django_http_requests_latency_seconds_by_view_method``,
  ``django_http_responses_total_by_status_view_method``, ...).
- Celery: ``fanbase_celery_tasks_total{task, outcome}`` (succeeded, failed, retried)
  and ``fanbase_celery_task_duration_seconds{task}``, from Celery's task signals. A
  signal handler is right here: counting is no domain effect.
- The outbox (``core.outbox``): ``fanbase_outbox_backlog`` (messages not yet relayed),
  ``fanbase_outbox_oldest_age_seconds`` (a growing age is the alert: the broker is down
  or the relay stopped) and ``fanbase_outbox_failing``, read from the database when
  scraped.

``/metrics`` answers only a caller on the loopback interface that came through no
proxy (no ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP``): anyone else gets a
404, as if it did not exist. It is answered by the first middleware, so that neither
ALLOWED_HOSTS nor the HTTPS redirect get in a local scraper's way, and its own requests
are not counted. Several processes (gunicorn workers, Celery's pool) share their
figures through ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode),
which `make run` sets; without it a process shows only its own.
"""

import ipaddress
import os
import time

from celery import signals
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from core.outbox import outbox_backlog

METRICS_PATH = "/metrics"
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")

CELERY_TASKS = Counter(
    "fanbase_celery_tasks", "Celery tasks run, by task name and outcome.", ["task", "outcome"]
)
CELERY_TASK_SECONDS = Histogram(
    "fanbase_celery_task_duration_seconds", "Time a Celery task took, by task name.", ["task"]
)


def is_local_scrape(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback and not any(request.META.get(h) for h in PROXY_HEADERS)


def metrics_endpoint(get_response):
    """Middleware: ``GET /metrics`` for a loopback caller; everyone else goes on as usual."""

    def middleware(request):
        if request.path_info.rstrip("/") != METRICS_PATH:
            return get_response(request)
        if not is_local_scrape(request):
            return HttpResponseNotFound("Not Found", content_type="text/plain")
        return HttpResponse(metrics_page(), content_type=CONTENT_TYPE_LATEST)

    return middleware


def metrics_page() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    backlogs = CollectorRegistry()
    backlogs.register(BacklogCollector())
    return generate_latest(registry) + generate_latest(backlogs)


class BacklogCollector:
    """Read at scrape time (``core.outbox.outbox_backlog``): never a number kept in a process."""

    def collect(self):
        try:
            backlog = outbox_backlog()
        except DatabaseError:
            return  # the database is down: /healthz says so; the scrape still answers
        yield GaugeMetricFamily(
            "fanbase_outbox_backlog", "Outbox messages not yet relayed to the broker.", backlog.pending
        )
        yield GaugeMetricFamily(
            "fanbase_outbox_oldest_age_seconds",
            "Age of the oldest outbox message not yet relayed.",
            backlog.oldest_age_seconds,
        )
        yield GaugeMetricFamily(
            "fanbase_outbox_failing",
            "Outbox messages not yet relayed whose relay failed at least once (broker down?).",
            backlog.failing,
        )


# --- Celery ----------------------------------------------------------------------

_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    if started is not None:
        CELERY_TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)
    if state == "SUCCESS":
        CELERY_TASKS.labels(task=name, outcome="succeeded").inc()


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs):
    CELERY_TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="failed").inc()


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs):
    CELERY_TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="retried").inc()
