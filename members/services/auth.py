"""Writes for shoppers and their logins: first sight from an order, registration, tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken
from knox.settings import knox_settings

from members import errors
from members.locks import shoppers_lock
from members.models import Shopper
from members.services import claims


def shopper_get_or_create(*, external_id: str, display_name: str = "") -> Shopper:
    """The shopper a merchant names by platform id, created on first sight."""
    shopper, _ = Shopper.objects.get_or_create(
        external_id=external_id, defaults={"display_name": display_name}
    )
    return shopper


def shopper_register(*, username: str, password: str, claim_code: str | None = None) -> tuple[Shopper, str]:
    """A login for a shopper; the username is their platform id (``external_id``).

    A platform id that a shopper record already holds (a merchant named it in an order
    or event) needs the claim code that merchant's system obtained (``services.claims``):
    without it the answer is ``claim_code_required`` and nothing is written. A shopper
    who registered first and is named in orders later simply keeps their login.

    Not one transaction on purpose: a claim attempt is counted and committed before the
    registration's own transaction, so that a wrong code still uses up an attempt.
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise errors.UsernameTaken(attr="username")
    shopper = Shopper.objects.filter(external_id=username).first()
    if shopper is not None and shopper.user_id is not None:
        raise errors.UsernameTaken(attr="username")
    user = User(username=username)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise errors.WeakPassword(" ".join(exc.messages), attr="password") from None
    user.set_password(password)
    claim = None
    if shopper is not None:
        if not claim_code:
            raise errors.ClaimCodeRequired()
        claim = claims.claim_attempt(shopper=shopper, code=claim_code)
    return _register(user=user, username=username, claim=claim)


@transaction.atomic
def _register(*, user, username: str, claim) -> tuple[Shopper, str]:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the username
        raise errors.UsernameTaken(attr="username") from None
    if claim is None:
        try:
            with transaction.atomic():
                shopper = Shopper.objects.create(user=user, external_id=username, display_name=username)
        except IntegrityError:
            # A merchant's order created this shopper meanwhile: it is theirs to claim.
            raise errors.ClaimCodeRequired() from None
        return shopper, _token_issue(user=user)
    shopper = shoppers_lock().filter(pk=claim.shopper_id).first()
    if shopper is None or shopper.user_id is not None:  # registered meanwhile under this id
        raise errors.UsernameTaken(attr="username")
    claims.claim_consume(claim=claim)
    shopper.user = user
    shopper.save(update_fields=["user"])
    return shopper, _token_issue(user=user)


def shopper_token_create(*, username: str, password: str) -> str:
    """Log a shopper in: a new token for their app."""
    # The password check alone (ModelBackend), not ``authenticate()``: the auth throttle
    # guards this route, and django-axes' backend (the admin login's brute-force guard)
    # needs the request, which a service does not take.
    user = ModelBackend().authenticate(None, username=username, password=password)
    if user is None or not Shopper.objects.filter(user=user).exists():
        raise errors.InvalidCredentials()
    return _token_issue(user=user)


@transaction.atomic
def _token_issue(*, user) -> str:
    """A new token; past ``REST_KNOX["TOKEN_LIMIT_PER_USER"]`` live tokens, the oldest are revoked.

    Tokens do not expire by time, so without the limit every login would add a row
    for good. The newest devices keep working rather than the login being refused.
    """
    issued, token = AuthToken.objects.create(user=user)
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None:
        older = AuthToken.objects.filter(user=user).exclude(pk=issued.pk).order_by("-created", "-pk")
        AuthToken.objects.filter(pk__in=list(older.values_list("pk", flat=True)[limit - 1 :])).delete()
    return token
