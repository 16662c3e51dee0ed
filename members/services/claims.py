"""Claim codes: how a shopper proves that a platform id a merchant already named is theirs.

A platform id is not a secret: anyone could register ``platform-user-77`` once a
merchant's order has created that shopper, and spend their points. So registering an
id that a shopper record already holds needs a code from the merchant's system:

1. the merchant's system asks ``POST /merchant/shoppers/{id}/claim-code`` and gives the
   code to the shopper out of band (the order confirmation, a platform message);
2. the shopper registers with ``claim_code``; the code is used up, and the shopper's
   points, coupons and history are theirs.

A code is 8 symbols of a 32-symbol alphabet (40 bits), kept only as a keyed hash
(HMAC with ``SECRET_KEY``), valid for ``CLAIM_CODE_TTL`` and for ``MAX_CLAIM_ATTEMPTS``
tries. Every try is counted before the code is compared, in its own committed
transaction, with the shopper's claims locked: concurrent guesses queue, and a refused
registration still leaves its attempt counted.
"""

import secrets
from datetime import datetime, timedelta
from hmac import compare_digest

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from members import errors
from members.locks import shopper_claims_lock
from members.models import Merchant, Shopper, ShopperClaim

CLAIM_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O nor 1/I: read aloud, typed on a phone
CLAIM_CODE_LENGTH = 8
CLAIM_CODE_TTL = timedelta(minutes=10)
MAX_CLAIM_ATTEMPTS = 5


def _code_hash(*, shopper_id: int, code: str) -> str:
    normalised = code.strip().upper()
    return salted_hmac(
        "fanbase.members.claim-code", f"{shopper_id}:{normalised}", algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def claim_code_issue(*, merchant: Merchant, shopper: Shopper) -> tuple[str, datetime]:
    """A new code for ``shopper`` from ``merchant``: (plain code, expires_at). It replaces this
    merchant's previous code for the shopper; the plain code is returned once, never stored."""
    if shopper.user_id is not None:
        raise errors.ShopperRegistered()
    now = timezone.now()
    code = "".join(secrets.choice(CLAIM_CODE_ALPHABET) for _ in range(CLAIM_CODE_LENGTH))
    expires_at = now + CLAIM_CODE_TTL
    ShopperClaim.objects.update_or_create(
        shopper=shopper,
        merchant=merchant,
        defaults={
            "code_hash": _code_hash(shopper_id=shopper.pk, code=code),
            "attempts": 0,
            "created_at": now,
            "expires_at": expires_at,
        },
    )
    return code, expires_at


def claim_attempt(*, shopper: Shopper, code: str) -> ShopperClaim:
    """The shopper's live claim that ``code`` opens; every call counts as one attempt on each.

    Runs in its own transaction so that the count is committed even though a wrong code
    refuses the registration that asked.
    """
    digest = _code_hash(shopper_id=shopper.pk, code=code)
    with transaction.atomic():
        now = timezone.now()
        live = list(
            shopper_claims_lock().filter(shopper=shopper, expires_at__gt=now, attempts__lt=MAX_CLAIM_ATTEMPTS)
        )
        if live:
            ShopperClaim.objects.filter(pk__in=[c.pk for c in live]).update(attempts=F("attempts") + 1)
        opened = next((c for c in live if compare_digest(c.code_hash, digest)), None)
    if opened is None:
        raise errors.ClaimCodeInvalid(attr="claim_code")
    return opened


def claim_consume(*, claim: ShopperClaim) -> None:
    """Use the code up (in the registration's transaction): the shopper's claims go with it."""
    used = ShopperClaim.objects.filter(pk=claim.pk, expires_at__gt=timezone.now()).delete()[0]
    if not used:  # a concurrent registration used it first, or it expired meanwhile
        raise errors.ClaimCodeInvalid(attr="claim_code")
    ShopperClaim.objects.filter(shopper_id=claim.shopper_id).delete()
