"""Writes for shoppers and their logins: first sight from an order, registration, tokens."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken
from knox.settings import knox_settings

from members import errors
from members.locks import shoppers_lock
from members.models import Shopper


def shopper_get_or_create(*, external_id: str, display_name: str = "") -> Shopper:
    """The shopper a merchant names by platform id, created on first sight."""
    shopper, _ = Shopper.objects.get_or_create(
        external_id=external_id, defaults={"display_name": display_name}
    )
    return shopper


@transaction.atomic
def shopper_register(*, username: str, password: str) -> tuple[Shopper, str]:
    """A login for a shopper; the username is their platform id (``external_id``).

    A shopper already known from a merchant's orders (no login yet) is claimed by
    the registration, so their history follows them into the app.
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise errors.UsernameTaken(attr="username")
    shopper = shoppers_lock().filter(external_id=username).first()
    if shopper is not None and shopper.user_id is not None:
        raise errors.UsernameTaken(attr="username")
    user = User(username=username)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise errors.WeakPassword(" ".join(exc.messages), attr="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the username
        raise errors.UsernameTaken(attr="username") from None
    if shopper is None:
        try:
            with transaction.atomic():
                shopper = Shopper.objects.create(user=user, external_id=username, display_name=username)
        except IntegrityError:
            # A merchant's order created this shopper meanwhile: claim it like any other.
            shopper = shoppers_lock().get(external_id=username)
    if shopper.user_id is None:
        shopper.user = user
        shopper.save(update_fields=["user"])
    elif shopper.user_id != user.pk:
        raise errors.UsernameTaken(attr="username")
    return shopper, _token_issue(user=user)


def shopper_token_create(*, username: str, password: str) -> str:
    """Log a shopper in: a new token for their app."""
    user = authenticate(username=username, password=password)
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
