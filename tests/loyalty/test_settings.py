"""Settings come from the environment, and a malformed value stops the start with a clear message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from loyalty.env import env_bool, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parents[2]


# --- env_bool -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_reads_true_words(monkeypatch, raw):
    monkeypatch.setenv("FANBASE_TEST_FLAG", raw)

    assert env_bool("FANBASE_TEST_FLAG") is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_reads_false_words(monkeypatch, raw):
    monkeypatch.setenv("FANBASE_TEST_FLAG", raw)

    assert env_bool("FANBASE_TEST_FLAG", default=True) is False


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FANBASE_TEST_FLAG", raising=False)

    assert env_bool("FANBASE_TEST_FLAG", default=True) is True
    assert env_bool("FANBASE_TEST_FLAG") is False


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled", "tru"])
def test_env_bool_refuses_other_words_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("FANBASE_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match=f"FANBASE_TEST_FLAG='{raw}' is not a boolean"):
        env_bool("FANBASE_TEST_FLAG")


# --- env_int --------------------------------------------------------------------------


def test_env_int_reads_an_integer_and_defaults_when_unset_or_blank(monkeypatch):
    monkeypatch.setenv("FANBASE_TEST_INT", "42")
    assert env_int("FANBASE_TEST_INT", 7) == 42

    monkeypatch.setenv("FANBASE_TEST_INT", " ")
    assert env_int("FANBASE_TEST_INT", 7) == 7

    monkeypatch.delenv("FANBASE_TEST_INT")
    assert env_int("FANBASE_TEST_INT", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "0x10", "3 apples"])
def test_env_int_refuses_a_non_integer_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("FANBASE_TEST_INT", raw)

    with pytest.raises(ImproperlyConfigured, match=r"FANBASE_TEST_INT=.* is not an integer"):
        env_int("FANBASE_TEST_INT", 7)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("FANBASE_TEST_INT", "-1")

    with pytest.raises(ImproperlyConfigured, match="FANBASE_TEST_INT=-1 must be at least 0"):
        env_int("FANBASE_TEST_INT", 7, minimum=0)


# --- env_url and env_list --------------------------------------------------------------


def test_env_url_accepts_an_allowed_scheme_and_the_default(monkeypatch):
    monkeypatch.setenv("FANBASE_TEST_URL", "redis://127.0.0.1:6379/0")
    assert env_url("FANBASE_TEST_URL", "memory://", schemes={"redis", "memory"}) == "redis://127.0.0.1:6379/0"

    monkeypatch.delenv("FANBASE_TEST_URL")
    assert env_url("FANBASE_TEST_URL", "memory://", schemes={"redis", "memory"}) == "memory://"


@pytest.mark.parametrize(
    "raw",
    ["mysql://db.example/fanbase", "127.0.0.1:6379", "redis:/127.0.0.1", "http://127.0.0.1:6379/0"],
    ids=["other-scheme", "no-scheme", "one-slash", "http"],
)
def test_env_url_refuses_a_url_with_a_bad_scheme_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("FANBASE_TEST_URL", raw)

    with pytest.raises(ImproperlyConfigured, match="FANBASE_TEST_URL=") as error:
        env_url("FANBASE_TEST_URL", "redis://127.0.0.1/0", schemes={"redis", "rediss"})
    assert "redis, rediss" in str(error.value)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("FANBASE_TEST_LIST", " a.example, ,b.example ,")

    assert env_list("FANBASE_TEST_LIST", ["x"]) == ["a.example", "b.example"]


# --- The settings module, started the way a process starts ------------------------------


def import_settings(**env) -> subprocess.CompletedProcess:
    """Import loyalty.settings in a fresh interpreter with only ``env`` set on top of PATH."""
    environment = {"PATH": os.environ.get("PATH", ""), "FANBASE_VAR_DIR": str(ROOT / "var" / "test"), **env}
    return subprocess.run(
        [sys.executable, "-c", "import loyalty.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "s", "DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SECRET_KEY": "s", "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL="),
        ({"SECRET_KEY": "s", "CELERY_BROKER_URL": "kafka://broker"}, "CELERY_BROKER_URL="),
        ({"SECRET_KEY": "s", "DB_CONN_MAX_AGE": "forever"}, "DB_CONN_MAX_AGE='forever' is not an integer"),
    ],
    ids=["debug", "database-url", "broker-url", "conn-max-age"],
)
def test_settings_stop_the_start_on_a_malformed_value(env, message):
    result = import_settings(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_settings_start_with_the_embedded_defaults_in_debug():
    result = import_settings(DEBUG="1")

    assert result.returncode == 0, result.stderr


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ.get("PATH", ""), "FANBASE_VAR_DIR": str(ROOT / "var" / "test"), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_web_server_refuses_to_start_without_a_secret_key():
    result = run_python("import loyalty.wsgi")

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_tooling_loads_the_settings_without_a_secret_key_but_the_deploy_check_fails():
    # given: no SECRET_KEY, no DEBUG (as ../shared/tools/check-contract runs the schema)
    schema = run_python(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'loyalty.settings'; django.setup(); "
        "from django.core.management import call_command; call_command('spectacular', '--file', os.devnull)"
    )
    deploy = run_python(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'loyalty.settings'; django.setup(); "
        "from django.core.management import call_command; call_command('check', '--deploy')"
    )

    assert schema.returncode == 0, schema.stderr
    assert deploy.returncode != 0
    assert "fanbase.E001" in deploy.stderr


@pytest.mark.parametrize(
    ("timeout", "options"),
    [
        ("", {"visibility_timeout": 3600, "unacked_restore_interval": 10, "unacked_restore_throttle": 1}),
        ("6", {"visibility_timeout": 6, "unacked_restore_interval": 2, "unacked_restore_throttle": 1}),
        ("1", {"visibility_timeout": 1, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}),
    ],
    ids=["default", "shortened", "shortest"],
)
def test_a_redis_broker_sweeps_for_lost_tasks_within_a_third_of_the_timeout_at_most_every_10s(
    timeout, options
):
    # kombu's defaults scan the unacknowledged tasks on every 10th sweep of 10 s: a task
    # whose worker was SIGKILLed came back up to 100 s after the visibility timeout
    # (docs/faults.md). Every sweep scans here.
    result = run_python(
        "import os, json; os.environ['DJANGO_SETTINGS_MODULE'] = 'loyalty.settings'; "
        "from loyalty.celery import app; print(json.dumps(app.conf.broker_transport_options))",
        SECRET_KEY="s",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CELERY_VISIBILITY_TIMEOUT=timeout,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == options
