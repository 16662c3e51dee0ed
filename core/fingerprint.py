"""The fingerprint of a request body, for idempotent writes.

An order or refund stores the fingerprint of the body it was recorded from; a replay
under the same external id is answered from the stored row when the fingerprints
match and is a conflict when they do not.
"""

import hashlib
import json


def request_fingerprint(canonical: dict) -> str:
    """A SHA-256 of ``canonical`` as sorted-key JSON: equal dicts, equal fingerprints.

    The caller makes the dict canonical (sorts what has no order, normalises decimals).
    """
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
