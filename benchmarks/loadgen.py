"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the answers.

Request i is due at ``start + i / rate``. A pool of threads, each with its own
keep-alive ``http.client`` connection (reopened when the server closes it), sends
requests as they fall due. Latency is measured from the moment a request was due,
not from when a thread got to it, so a slow server cannot hide its queueing
(no coordinated omission). Bounded: ``rate * seconds`` requests, and a hard deadline
after which unanswered requests count as errors. Loopback only.
"""

import http.client
import json
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"
THREADS = 16
TIMEOUT = 5.0  # per request; also how long the tail may take after the last request is sent

# (method, path, body or None, headers)
Request = tuple[str, str, dict | None, dict]


@dataclass
class LoadResult:
    sent: int
    latencies_ms: list[float] = field(default_factory=list)  # answered with 2xx
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the successful requests' latency, in ms."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
        return ordered[rank - 1]

    def summary(self) -> str:
        return (
            f"{self.sent} requests in {self.elapsed:.1f}s ({self.sent / self.elapsed:.0f}/s): "
            f"p50 {self.percentile(0.50):.1f} ms, p99 {self.percentile(0.99):.1f} ms, "
            f"max {max(self.latencies_ms, default=float('nan')):.1f} ms, errors {self.errors}"
            + (f" (first: {self.first_error})" if self.errors else "")
        )


def open_loop(*, port: int, rate: float, seconds: float, request: Callable[[int], Request]) -> LoadResult:
    total = max(1, int(rate * seconds))
    jobs: queue.Queue = queue.Queue()
    result = LoadResult(sent=total)
    lock = threading.Lock()
    answered = threading.Semaphore(0)
    closed = threading.Event()  # past the deadline: send nothing more, record nothing more

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
        try:
            while (job := jobs.get()) is not None and not closed.is_set():
                index, due = job
                status, error = _send(conn, request(index))
                latency = (time.perf_counter() - due) * 1000
                with lock:
                    if closed.is_set():
                        return
                    result.statuses[status] += 1
                    if error is None and 200 <= status < 300:
                        result.latencies_ms.append(latency)
                    else:
                        result.errors += 1
                        result.first_error = result.first_error or error or f"HTTP {status}"
                answered.release()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for index in range(total):
        pause = start + index / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put((index, start + index / rate))
    deadline = time.perf_counter() + TIMEOUT
    done = 0
    while done < total and answered.acquire(timeout=max(0.0, deadline - time.perf_counter())):
        done += 1
    with lock:
        closed.set()
        result.elapsed = time.perf_counter() - start
        if done < total:
            result.errors += total - done
            result.first_error = result.first_error or f"{total - done} requests unanswered at the deadline"
    _drain(jobs)
    for _ in threads:
        jobs.put(None)
    for thread in threads:  # in-flight requests end within their socket timeout
        thread.join(TIMEOUT + 1)
    return result


def _drain(jobs: queue.Queue) -> None:
    while True:
        try:
            jobs.get_nowait()
        except queue.Empty:
            return


def _send(conn: http.client.HTTPConnection, req: Request) -> tuple[int, str | None]:
    method, path, body, headers = req
    payload = None if body is None else json.dumps(body).encode()
    if payload is not None:
        headers = {**headers, "Content-Type": "application/json"}
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            content = response.read()
        except STALE as exc:
            # A kept-alive connection the server had closed: reconnect once, as any client does.
            conn.close()
            if attempt == 2:
                return 0, f"{exc.__class__.__name__}: {exc}"
            continue
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # the next request reconnects
            return 0, f"{exc.__class__.__name__}: {exc}"
        if response.status >= 300:
            return response.status, f"HTTP {response.status}: {content[:200]!r}"
        return response.status, None
    raise AssertionError("unreachable")


STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
