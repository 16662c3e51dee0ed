"""How the two kinds of API caller prove who they are.

- A merchant's shop system: ``Authorization: Api-Key <key>``
  (djangorestframework-api-key; hashed at rest, revocable in the admin).
- A shopper app: ``Authorization: Token <token>`` (django-rest-knox; hashed at rest).

Both are DRF authentication classes, so a missing or wrong credential is a 401 with
a ``WWW-Authenticate`` header, and both resolve their principal in one query.
``MerchantApi`` and ``ShopperApi`` are the base views of the two callers, shared by
every app's ``apis.py``.
"""

import binascii
from dataclasses import dataclass
from functools import cache
from hmac import compare_digest

from django.db import connection
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from core.api import RetryingApiView
from core.pagination import CursorPage
from core.sql import row_reader
from members.models import Merchant, MerchantAPIKey, Shopper

API_KEY_PREFIX = "Api-Key"
TOKEN_PREFIX = "Token"


def refuse_other_scheme(request, expected: str, route: str) -> None:
    """A credential of the other kind is a 401 that says which this route takes.

    Without this, an API key on a shopper route (or a token on a merchant route) would
    read "credentials were not provided", which sends an integrator looking for a
    missing header instead of the wrong one.
    """
    parts = get_authorization_header(request).split()
    if parts and parts[0].decode("latin-1").lower() != expected.lower():
        raise exceptions.AuthenticationFailed(
            f"This is a {route} route: send `Authorization: {expected} <...>`.", code="wrong_credential_kind"
        )


@dataclass(frozen=True)
class MerchantClient:
    """The ``request.user`` of a merchant API call: the shop system of one merchant."""

    merchant: Merchant
    api_key_id: str

    is_authenticated = True
    is_anonymous = False


class MerchantApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        refuse_other_scheme(request, API_KEY_PREFIX, "merchant (shop-system)")
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Api-Key header: expected 'Api-Key <key>'.")
        key = parts[1].decode("latin-1")
        if not key.isprintable():  # a NUL would reach the key lookup, which PostgreSQL refuses
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key = api_key_with_merchant(prefix=key.partition(".")[0])
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return MerchantClient(merchant=api_key.merchant, api_key_id=api_key.pk), api_key

    def authenticate_header(self, request) -> str:
        return API_KEY_PREFIX


class ShopperTokenAuthentication(TokenAuthentication):
    """knox's token check in one query, loading the shopper with the user.

    knox's own ``authenticate_credentials`` also sweeps the user's other expired
    tokens on every request; that sweep is a scheduled job's work, not a read's.
    """

    def authenticate(self, request):
        refuse_other_scheme(request, TOKEN_PREFIX, "shopper")
        return super().authenticate(request)

    def authenticate_header(self, request) -> str:
        return TOKEN_PREFIX

    def authenticate_credentials(self, token: bytes):
        token_str = token.decode("utf-8", errors="replace")
        if not token_str.isprintable():  # a NUL would reach the token lookup, which PostgreSQL refuses
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            digest = hash_token(token_str)
        except (TypeError, binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        for auth_token in tokens_with_user(token_key=token_str[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                raise exceptions.AuthenticationFailed("Token has expired.")
            return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")


def tokens_with_user(*, token_key: str) -> list[AuthToken]:
    """The tokens with this key, each with its user and the user's shopper (none cached as
    none): what ``select_related("user__shopper")`` loads, in one written-out statement.

    Every shopper request reads it; the ORM's compile of the two joins cost more CPU than
    the statement (docs/performance.md, "Feed").
    """
    sql, models = _token_statement()
    user_field, shopper_field = AuthToken._meta.get_field("user"), Shopper._meta.get_field("user")
    tokens = []
    for token, user, shopper in _joined_instances(sql, [token_key], models):
        user_field.set_cached_value(token, user)
        shopper_field.remote_field.set_cached_value(user, shopper)
        if shopper is not None:
            shopper_field.set_cached_value(shopper, user)
        tokens.append(token)
    return tokens


def api_key_with_merchant(*, prefix: str) -> MerchantAPIKey | None:
    """The usable (unrevoked) key with this prefix and its merchant, as
    ``MerchantAPIKey.objects.get_from_key`` reads it (``select_related("merchant")``), in one
    written-out statement: every shop-system request reads it. None if there is none."""
    sql, models = _api_key_statement()
    for api_key, merchant in _joined_instances(sql, [prefix], models):
        MerchantAPIKey._meta.get_field("merchant").set_cached_value(api_key, merchant)
        return api_key  # the prefix is unique
    return None


@cache
def _api_key_statement() -> tuple[str, tuple]:
    models = (MerchantAPIKey, Merchant)
    quote = connection.ops.quote_name
    key_column = {
        name: quote(MerchantAPIKey._meta.get_field(name).column) for name in ("merchant", "prefix", "revoked")
    }
    sql = (
        f"SELECT {_columns(zip('km', models, strict=True))} FROM {quote(MerchantAPIKey._meta.db_table)} k"
        f" JOIN {quote(Merchant._meta.db_table)} m"
        f" ON m.{quote(Merchant._meta.pk.column)} = k.{key_column['merchant']}"
        f" WHERE k.{key_column['prefix']} = %s AND NOT k.{key_column['revoked']}"
    )
    return sql, models


def _columns(aliased_models) -> str:
    quote = connection.ops.quote_name
    return ", ".join(
        f"{alias}.{quote(f.column)}" for alias, model in aliased_models for f in model._meta.concrete_fields
    )


def _joined_instances(sql: str, params: list, models: tuple) -> list[tuple]:
    """The rows of ``sql`` (every concrete column of each of ``models`` in turn) as one
    instance of each per row, None for a model whose LEFT JOIN found nothing; values
    converted as the ORM converts them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    read = row_reader([f for model in models for f in model._meta.concrete_fields])
    found = []
    for row in rows:
        values = read(row)
        instances = []
        for model in models:
            n = len(model._meta.concrete_fields)
            part, values = values[:n], values[n:]
            present = part[model._meta.concrete_fields.index(model._meta.pk)] is not None
            instances.append(model.from_db(connection.alias, None, part) if present else None)
        found.append(tuple(instances))
    return found


@cache
def _token_statement() -> tuple[str, tuple]:
    token_user, shopper_user = AuthToken._meta.get_field("user"), Shopper._meta.get_field("user")
    user_model = token_user.related_model
    models = (AuthToken, user_model, Shopper)
    quote = connection.ops.quote_name
    columns = _columns(zip("tus", models, strict=True))
    user_id = f"u.{quote(user_model._meta.pk.column)}"
    sql = (
        f"SELECT {columns} FROM {quote(AuthToken._meta.db_table)} t"
        f" JOIN {quote(user_model._meta.db_table)} u ON {user_id} = t.{quote(token_user.column)}"
        f" LEFT JOIN {quote(Shopper._meta.db_table)} s ON s.{quote(shopper_user.column)} = {user_id}"
        f" WHERE t.{quote(AuthToken._meta.get_field('token_key').column)} = %s"
    )
    return sql, models


class IsMerchantClient(BasePermission):
    message = "This endpoint needs a merchant API key."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, MerchantClient)


class IsShopper(BasePermission):
    message = "This endpoint needs a shopper token."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and user.is_authenticated and hasattr(user, "shopper"))


class MerchantApi(RetryingApiView):
    """A shop-system endpoint: every query is scoped to ``self.merchant``."""

    authentication_classes = [MerchantApiKeyAuthentication]
    permission_classes = [IsMerchantClient]
    # Read by paginated_response and by the schema (lists are declared as their envelope).
    pagination_class = CursorPage

    @property
    def merchant(self) -> Merchant:
        return self.request.user.merchant


class ShopperApi(RetryingApiView):
    """A shopper-app endpoint: every query is scoped to ``self.shopper``."""

    authentication_classes = [ShopperTokenAuthentication]
    permission_classes = [IsShopper]
    pagination_class = CursorPage

    @property
    def shopper(self) -> Shopper:
        return self.request.user.shopper
