"""The signature a receiver checks (docs/webhooks.md has the receiver's recipe).

``Fanbase-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]``: each ``v1`` is
HMAC-SHA256 over ``"<t>.<body>"`` (the body's exact bytes) with one of the endpoint's
secrets; during a rotation the new and the previous secret both sign, so a receiver
holding either accepts. A receiver refuses a ``t`` too far from its clock (replays).
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Fanbase-Signature"
SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets_: list[str], timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret=s, timestamp=timestamp, body=body)}" for s in secrets_]
    return ",".join(parts)


def signature_verify(*, header: str, body: bytes, secret: str, now: int, tolerance: int = 300) -> bool:
    """The receiver's check (the one docs/webhooks.md shows)."""
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in items if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, value) for key, value in items if key == "v1")
