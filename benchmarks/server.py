"""gunicorn on loopback, as the Procfile runs it, for the HTTP benchmarks.

Production settings (``DEBUG`` off, a ``SECRET_KEY``, ``ALLOWED_HOSTS=127.0.0.1``)
on the benchmark database. Requests carry ``X-Forwarded-Proto: https`` as they would
behind the TLS proxy, so ``SECURE_SSL_REDIRECT`` stays as configured.
"""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.loadgen import HOST

WORKERS = 2
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
IDLE_SAMPLE = 0.5  # seconds between two looks at the workers' CPU
IDLE_CPU = 0.05  # CPU seconds in a sample below which the workers are idle
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, *, env: dict[str, str], log_path: Path, cwd: Path):
        self.env, self.log_path, self.cwd = env, log_path, cwd
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> "Server":
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        command = [
            sys.executable, "-m", "gunicorn", "loyalty.wsgi",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(WORKERS),
            "--access-logfile", "-",
            "--graceful-timeout", "5",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz", headers=PROXY_HEADERS)
                conn.getresponse().read()  # any answer will do: the broker is not under test
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT:.0f}s; see {self.log_path}")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the gunicorn master and its workers (Linux /proc), else None."""
        if self.process is None or not Path("/proc/self/stat").exists():
            return None
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # a process that ended meanwhile
            pid, ppid = int(stat.parent.name), int(fields[1])
            if self.process.pid in (pid, ppid):
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, *, timeout: float = IDLE_TIMEOUT) -> float:
        """Wait until the workers have worked off what an overloaded run left queued (their
        CPU stops moving for a moment), so that the next measurement starts on an idle
        server; the seconds waited. Requests whose clients gave up are still served by
        sync workers, and without this they would count against the next endpoint."""
        started = time.monotonic()
        last = self.cpu_seconds()
        if last is None:
            return 0.0
        while time.monotonic() - started < timeout:
            time.sleep(IDLE_SAMPLE)
            now = self.cpu_seconds()
            if now - last < IDLE_CPU:
                break
            last = now
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the master stops its workers gracefully
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)  # its own session: only gunicorn's processes
            self.process.wait(STOP_TIMEOUT)
