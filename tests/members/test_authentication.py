"""Who may call what: merchant API keys, shopper tokens, and everyone else (401)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient, APIRequestFactory

from members.models import MerchantAPIKey
from tests.conftest import assert_error, merchant_client, shopper_client
from tests.members.factories import MerchantAPIKeyFactory, ShopperFactory, UserFactory

SHOPPER_ENDPOINTS = [
    ("get", "/api/v1/me/follows"),
    ("post", "/api/v1/me/follows"),
    ("delete", "/api/v1/me/follows/some-handle"),
    ("post", "/api/v1/me/memberships"),
    ("delete", "/api/v1/me/memberships/some-merchant"),
]
MERCHANT_ENDPOINTS = [
    ("get", "/api/v1/merchant/accounts"),
    ("post", "/api/v1/merchant/accounts"),
    ("post", "/api/v1/merchant/tiers"),
    ("get", "/api/v1/merchant/members"),
]


def call(client, method: str, path: str):
    return (
        getattr(client, method)(path, {}, format="json")
        if method == "post"
        else getattr(client, method)(path)
    )


@pytest.mark.parametrize(("method", "path"), SHOPPER_ENDPOINTS + MERCHANT_ENDPOINTS)
def test_endpoints_answer_401_without_credentials(api, db, method, path):
    response = call(api, method, path)

    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] in {"Token", "Api-Key"}


@pytest.mark.parametrize(("method", "path"), SHOPPER_ENDPOINTS)
def test_shopper_endpoints_name_the_token_scheme_to_a_merchant_key(merchant, method, path):
    response = call(merchant_client(merchant), method, path)

    assert_error(response, 401, "wrong_credential_kind")
    assert "Authorization: Token" in response.json()["errors"][0]["detail"]
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("method", "path"), MERCHANT_ENDPOINTS)
def test_merchant_endpoints_name_the_api_key_scheme_to_a_shopper_token(shopper_api, method, path):
    response = call(shopper_api, method, path)

    assert_error(response, 401, "wrong_credential_kind")
    assert "Authorization: Api-Key" in response.json()["errors"][0]["detail"]
    assert response.headers["WWW-Authenticate"] == "Api-Key"


def test_a_revoked_api_key_is_401(merchant):
    api_key = MerchantAPIKeyFactory(merchant=merchant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key.plain_key}")
    assert client.get("/api/v1/merchant/accounts").status_code == 200

    MerchantAPIKey.objects.filter(pk=api_key.pk).update(revoked=True)

    assert_error(client.get("/api/v1/merchant/accounts"), 401, "authentication_failed")


def test_an_expired_api_key_is_401(merchant):
    api_key = MerchantAPIKeyFactory(merchant=merchant, expiry_date=timezone.now() - timedelta(minutes=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key.plain_key}")

    assert_error(client.get("/api/v1/merchant/accounts"), 401, "authentication_failed")


@pytest.mark.parametrize(
    "header",
    ["Api-Key", "Api-Key not-a-key", "Api-Key abc.def", "Api-Key a b"],
    ids=["no-key", "garbage", "unknown-prefix", "two-words"],
)
def test_a_malformed_or_unknown_api_key_is_401(merchant, header):
    MerchantAPIKeyFactory(merchant=merchant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(client.get("/api/v1/merchant/accounts"), 401, "authentication_failed")


def test_a_key_with_the_right_prefix_but_wrong_secret_is_401(merchant):
    prefix = MerchantAPIKeyFactory(merchant=merchant).plain_key.split(".")[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.{'x' * 32}")

    assert_error(client.get("/api/v1/merchant/accounts"), 401, "authentication_failed")


def test_api_keys_are_stored_hashed(merchant):
    api_key = MerchantAPIKeyFactory(merchant=merchant)

    stored = MerchantAPIKey.objects.get(pk=api_key.pk)
    assert api_key.plain_key not in (stored.hashed_key, stored.id)
    assert stored.is_valid(api_key.plain_key)


@pytest.mark.parametrize(
    "header", ["Token", "Token not-a-token", "Token a b"], ids=["no-token", "garbage", "two-words"]
)
def test_a_malformed_or_unknown_token_is_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(client.get("/api/v1/me/follows"), 401, "authentication_failed")


def test_a_deleted_token_is_401(shopper):
    client = shopper_client(shopper)
    assert client.get("/api/v1/me/follows").status_code == 200

    AuthToken.objects.filter(user=shopper.user).delete()

    assert_error(client.get("/api/v1/me/follows"), 401, "authentication_failed")


def test_an_expired_token_is_401(shopper):
    client = shopper_client(shopper)
    AuthToken.objects.filter(user=shopper.user).update(expiry=timezone.now() - timedelta(seconds=1))

    assert_error(client.get("/api/v1/me/follows"), 401, "authentication_failed")


def test_the_token_of_a_deactivated_shopper_is_401(shopper):
    client = shopper_client(shopper)
    shopper.user.is_active = False
    shopper.user.save(update_fields=["is_active"])

    assert_error(client.get("/api/v1/me/follows"), 401, "authentication_failed")


def test_a_token_of_a_login_without_a_shopper_is_refused(db):
    # given: a token for a staff login (made in the admin, say), which is no shopper
    _, token = AuthToken.objects.create(user=UserFactory(is_staff=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert_error(client.get("/api/v1/me/follows"), 403, "permission_denied")


def test_a_shopper_request_is_authenticated_in_one_query(db, django_assert_num_queries):
    from members.authentication import ShopperTokenAuthentication

    client = shopper_client(ShopperFactory())
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"])

    with django_assert_num_queries(1):
        user, _ = ShopperTokenAuthentication().authenticate(request)
        assert user.shopper.external_id


def test_a_merchant_request_is_authenticated_in_one_query_with_the_merchant(
    merchant, django_assert_num_queries
):
    from members.authentication import MerchantApiKeyAuthentication

    api_key = MerchantAPIKeyFactory(merchant=merchant)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {api_key.plain_key}")

    with django_assert_num_queries(1):
        client, key = MerchantApiKeyAuthentication().authenticate(request)
        assert (client.merchant.slug, client.api_key_id, key.pk) == (merchant.slug, api_key.pk, api_key.pk)
        assert key.merchant == merchant and key.name == api_key.name


def test_a_key_of_another_merchant_authenticates_as_that_merchant_only(merchant):
    from members.authentication import MerchantApiKeyAuthentication
    from tests.members.factories import MerchantFactory

    other = MerchantAPIKeyFactory(merchant=MerchantFactory())
    MerchantAPIKeyFactory(merchant=merchant)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {other.plain_key}")

    client, _ = MerchantApiKeyAuthentication().authenticate(request)
    assert client.merchant.pk == other.merchant_id != merchant.pk


def test_logins_beyond_the_token_limit_revoke_the_oldest_tokens(api, db, settings):
    # given: a limit of two live tokens per shopper
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    body = {"username": "manydevices", "password": "correct-horse-battery"}
    first = api.post("/api/v1/auth/register", body, format="json").json()["token"]

    # when: the shopper logs in twice more
    second, third = (api.post("/api/v1/auth/token", body, format="json").json()["token"] for _ in range(2))

    # then: the two newest work and the first is revoked
    assert AuthToken.objects.filter(user__username="manydevices").count() == 2
    for token, works in [(first, False), (second, True), (third, True)]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert (client.get("/api/v1/me/follows").status_code == 200) is works
