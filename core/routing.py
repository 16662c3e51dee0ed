"""URL helpers: the contract's paths answer with and without a trailing slash."""

from django.urls import path


def slash_optional(route: str, view, name: str) -> list:
    """Two patterns for one operation; the schema keeps only the slash-less one."""
    route = route.rstrip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]


def drop_trailing_slash_twins(endpoints):
    """drf-spectacular preprocessing hook: hide the slash twins from the schema."""
    return [(p, pr, m, cb) for (p, pr, m, cb) in endpoints if p == "/" or not p.endswith("/")]
