"""The auth throttle counts a client once across processes (gunicorn runs several).

Two real Python processes load the real settings (``loyalty.settings``, not the test
ones) and share the default cache: the file-based cache under ``FANBASE_VAR_DIR`` on
the embedded defaults, Redis when ``REDIS_URL`` is set (the PostgreSQL + Redis run).
With a per-process cache each would let the whole limit through.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATE = 4

SCRIPT = """
import json, os, sys
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(REMOTE_ADDR=os.environ["CLIENT_IP"])
statuses = [
    client.post("/api/v1/auth/register", "{}", content_type="application/json").status_code
    for _ in range(int(sys.argv[1]))
]
print(json.dumps({"backend": settings.CACHES["default"]["BACKEND"], "statuses": statuses}))
"""


def run_process(requests: int, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(requests)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_share_one_auth_throttle(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "SECRET_KEY": "throttle-test-only",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "AUTH_THROTTLE_RATE": f"{RATE}/min",
        "FANBASE_VAR_DIR": str(tmp_path),
        # A client address of its own: a rerun never meets an earlier run's count in Redis.
        "CLIENT_IP": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}",
    }

    first = run_process(3, env)
    second = run_process(3, env)

    expected = "RedisCache" if os.environ.get("REDIS_URL") else "FileBasedCache"
    assert first["backend"].endswith(expected) and second["backend"] == first["backend"]
    # each request is a 400 (an empty body) until the shared limit; then 429
    assert first["statuses"] == [400, 400, 400]
    assert second["statuses"] == [400, 429, 429]
