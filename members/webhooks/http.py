"""Sending one signed request to a checked address, with a short timeout.

Connections are pooled per worker process, keyed by the checked address and the host
name (keep-alive across deliveries to one endpoint). TLS verifies the certificate
against the host name while the socket goes to the checked address. No redirects (a
3xx is a failure): following one would reach an address nobody checked.
"""

import threading
from dataclasses import dataclass

import urllib3
from django.conf import settings

from members.webhooks.addresses import DEFAULT_PORTS, Target

USER_AGENT = "Fanbase-Webhooks/1"
# What is read of a receiver's answer (for the log); the rest is drained when small.
ANSWER_PREVIEW = 200
DRAIN_AT_MOST = 64 * 1024

_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            seconds = settings.WEBHOOKS_TIMEOUT_SECONDS
            timeout = urllib3.Timeout(connect=min(seconds, 3.0), read=seconds)
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    target.address,
                    target.port,
                    timeout=timeout,
                    retries=False,
                    maxsize=8,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = urllib3.HTTPConnectionPool(
                    target.address, target.port, timeout=timeout, retries=False, maxsize=8
                )
            _pools[key] = pool
    return pool


def post(*, target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    host = target.host if target.port == DEFAULT_PORTS[target.scheme] else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host = (
            f"[{target.host}]"
            if target.port == DEFAULT_PORTS[target.scheme]
            else f"[{target.host}]:{target.port}"
        )
    all_headers = {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    try:
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=body,
            headers=all_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return Answer(status=None, error=f"{type(exc).__name__}: {exc}"[:500])
    try:
        preview = response.read(ANSWER_PREVIEW)
        remaining = response.length_remaining
        if remaining is not None and remaining <= DRAIN_AT_MOST:
            response.drain_conn()
            response.release_conn()
        else:
            response.close()
    except urllib3.exceptions.HTTPError as exc:
        return Answer(status=response.status, error=f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status < 300:
        return Answer(status=response.status)
    return Answer(
        status=response.status, error=f"HTTP {response.status}: {preview.decode('utf-8', 'replace')}"[:500]
    )
