"""Reading settings from the environment, failing at start on malformed values.

Modelled on healthchecks' ``envbool``: a typo in a deployment variable must stop
the process with a message that names the variable, not silently fall back.
Messages never echo a password: URLs are shown with their credentials masked.
"""

import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# A host name, a ".example.com" wildcard for subdomains, "*", or an IPv6 literal in
# brackets. No scheme, port or path: Django matches ALLOWED_HOSTS on the bare host.
HOST_PATTERN = re.compile(r"^(\*|\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])$")
ORIGIN_PATTERN = re.compile(r"^https?://[^/\s]+$")
# DRF's throttle rate: "<requests>/<period>", the period's first letter s, m, h or d.
RATE_PATTERN = re.compile(r"^[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)$")
LOG_LEVELS = ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_hosts(name: str, default: list[str]) -> list[str]:
    """``ALLOWED_HOSTS``: bare host names, without scheme, port or path."""
    hosts = env_list(name, default)
    for host in hosts:
        if not HOST_PATTERN.match(host):
            raise ImproperlyConfigured(
                f"{name} has {host!r}, which is not a host name; give bare names separated by "
                f"commas, without scheme, port or path (e.g. api.example.com,.example.org)."
            )
    return hosts


def env_origins(name: str, default: list[str]) -> list[str]:
    """``CSRF_TRUSTED_ORIGINS``: ``scheme://host[:port]`` items."""
    origins = env_list(name, default)
    for origin in origins:
        if not ORIGIN_PATTERN.match(origin):
            raise ImproperlyConfigured(
                f"{name} has {origin!r}, which is not an origin; use scheme://host[:port] "
                f"(e.g. https://admin.example.com)."
            )
    return origins


def env_choice(name: str, default: str, *, choices: list[str]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of: {', '.join(choices)}.")
    return value


def env_rate(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if not RATE_PATTERN.match(value):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; use <requests>/<s|min|hour|day>, e.g. 20/min."
        )
    return value


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, safe for an error message."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    return f"{scheme}{sep}{netloc}{slash}{path}"


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    """A URL whose scheme is one of ``schemes``, with a numeric port if it has one.

    PostgreSQL URLs must name a database; Redis URLs may name a numeric database.
    """
    raw = os.environ.get(name, default).strip()

    def fail(problem: str):
        return ImproperlyConfigured(f"{name}={redact(raw)!r} {problem}")

    scheme, sep, _ = raw.partition("://")
    if not sep or scheme not in schemes:
        raise fail(f"is not a URL with one of the schemes: {', '.join(sorted(schemes))}.")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise fail(f"is malformed: {exc}.") from None
    if scheme in {"postgres", "postgresql", "pgsql"} and not parts.path.strip("/"):
        raise fail("names no database; use postgres://USER:PASSWORD@HOST:PORT/NAME.")
    if scheme in {"redis", "rediss"}:
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise fail(f"has database {db!r}; a Redis database is a number, as in redis://HOST:6379/0.")
    return raw
