"""Hot paths whose features are not built yet: each prints one SKIPPED line, no figures.

When a feature lands, its issue adds ``benchmarks/cases/<feature>.py`` (a function
under ``@benchmark``), names it in ``cases/__init__.py`` and deletes its line here.
Until then the probe notices a built feature and says its benchmark is missing.
"""

from django.apps import apps
from django.urls import Resolver404, resolve

from core.routing import api_not_found


def has_model(label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


def has_path(path: str) -> bool:
    """Whether a route serves ``path``; the JSON 404 that answers every unknown /api/ path does not count."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found
