"""Real processes for the fault tests: a Redis and a PostgreSQL of the test's own (so
that stopping them touches nothing shared), gunicorn and a Celery worker on them.

Every process is started in its own session and stopped by its id (its process group),
whatever the test's outcome.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PROXY = {"X-Forwarded-Proto": "https"}  # behind the TLS proxy, as production runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float = 60, every: float = 0.25, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def stop(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop ``process`` and its group (it was started in a session of its own)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def spawn(command: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


class Redis:
    """A redis-server on a free port; ``stop()`` and ``start()`` again on the same port."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.log = tmp / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    def start(self) -> "Redis":
        command = [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = spawn(command, env=dict(os.environ), log=self.log)
        wait_for(self._answers, timeout=15, what="redis-server")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        stop(self.process)
        self.process = None


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (initdb, pg_ctl), if any."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class Postgres:
    """A throwaway cluster (initdb into the test's temp dir, pg_ctl on a free port)."""

    def __init__(self):
        self.bin = postgres_bin()
        # Not under pytest's temp dir: as root, the cluster runs as ``postgres``, which
        # must reach its folder.
        self.root = Path(tempfile.mkdtemp(prefix="fanbase-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "postgres.log"
        self.user = "fanbase"

    def url(self, name: str = "fanbase") -> str:
        return f"postgres://{self.user}@{HOST}:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        env = {**os.environ, "LC_ALL": "C"}
        user = {"user": "postgres"} if os.geteuid() == 0 else {}  # PostgreSQL refuses to run as root
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **user)

    def init(self) -> "Postgres":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories='' -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def database_url_of(settings_dict: dict) -> str:
    """The ``DATABASE_URL`` of a Django connection's settings (the test database, say)."""
    db = settings_dict
    host, port = db["HOST"] or HOST, db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{port}/{db['NAME']}"


def service_env(*, database_url: str, broker_url: str, var: Path, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) for gunicorn and the worker, on the given database and broker."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "SECRET_KEY": "fault-tests-only-not-a-secret",
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "FANBASE_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("REDIS_URL", None)
    env.update({k: v for k, v in extra.items() if k == "REDIS_URL"})
    return env


def gunicorn(env: dict, tmp: Path, *, workers: int = 2) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "loyalty.wsgi", "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--timeout", "30", "--graceful-timeout", "5",
    ]  # fmt: skip
    process = spawn(command, env=env, log=tmp / "gunicorn.log")

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {(tmp / 'gunicorn.log').read_text()[-3000:]}")
        try:
            return call(port, "GET", "/healthz")[0] > 0
        except OSError:
            return False

    wait_for(answering, timeout=30, what="gunicorn")
    return process, port


def celery_worker(env: dict, tmp: Path, *, beat: bool = False, name: str = "worker") -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "loyalty", "worker", "--pool", "solo",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
        "-n", f"{name}@%h",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(tmp / "beat-schedule")]
    return spawn(command, env=env, log=tmp / f"{name}.log")


def call(port: int, method: str, path: str, body=None, headers=None, timeout: float = 15) -> tuple[int, dict]:
    """One HTTP request; (status, JSON body or {})."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {**PROXY, **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    try:
        data = json.loads(content) if content else {}
    except ValueError:
        data = {"raw": content[:500].decode(errors="replace")}
    return response.status, data
