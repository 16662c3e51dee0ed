"""LOG_FORMAT=json: one JSON object a line, with the record's fields and its extras."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging
import django
django.setup()
logging.getLogger("fanbase.orders").warning("order refused", extra={"order": "o-1", "merchant": "acme"})
"""


def run(**env) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "FANBASE_VAR_DIR": str(ROOT / "var" / "test"),
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_json_logs_are_one_object_a_line_with_the_extras():
    result = run(LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "fanbase.orders"
    assert line["message"] == "order refused"
    assert (line["order"], line["merchant"]) == ("o-1", "acme")
    assert line["time"]


def test_plain_logs_are_the_default():
    result = run()

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("WARNING fanbase.orders order refused")


def test_an_unknown_log_format_stops_the_start_with_a_clear_message():
    result = run(LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not one of: PLAIN, JSON." in result.stderr
