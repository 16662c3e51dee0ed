"""``GET /healthz``: is the database answering, and can the broker take a message?"""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from loyalty.celery import app as celery_app


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"database: {exc.__class__.__name__}: {exc}"
    return None


def broker_problem(timeout: int) -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            # A channel proves the transport works, not only that a socket opened.
            conn.default_channel  # noqa: B018
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}: {exc}"
    return None


@require_GET
def healthz(request):
    from django.conf import settings

    problems = [p for p in (database_problem(), broker_problem(settings.HEALTHZ_BROKER_TIMEOUT)) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})
