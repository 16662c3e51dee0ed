"""POST /api/v1/auth/register and POST /api/v1/auth/token: shopper logins and tokens."""

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from rest_framework.test import APIClient

from members.models import Shopper
from tests.conftest import assert_error, row_counts
from tests.members.factories import USER_PASSWORD, ShopperFactory, UserFactory

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
STRONG_PASSWORD = "correct-horse-battery"


def token_works(token: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/me/follows").status_code == 200


# --- Register -------------------------------------------------------------------------


def test_register_creates_a_shopper_whose_external_id_is_the_username(api, db):
    response = api.post(REGISTER, {"username": "dy_12345", "password": STRONG_PASSWORD}, format="json")

    assert response.status_code == 201, response.content
    assert set(response.json()) == {"token"}
    shopper = Shopper.objects.select_related("user").get(external_id="dy_12345")
    assert shopper.user.username == "dy_12345"
    assert shopper.user.check_password(STRONG_PASSWORD)
    assert not shopper.user.is_staff
    assert token_works(response.json()["token"])


def test_register_stores_only_a_hash_of_the_token(api, db):
    token = api.post(REGISTER, {"username": "hashme", "password": STRONG_PASSWORD}, format="json").json()[
        "token"
    ]

    stored = AuthToken.objects.get(user__username="hashme")
    assert token not in (stored.digest, stored.token_key)
    assert len(stored.token_key) < len(token)


def test_register_with_a_taken_username_is_409_and_writes_nothing(api, db):
    api.post(REGISTER, {"username": "taken", "password": STRONG_PASSWORD}, format="json")
    before = row_counts()

    response = api.post(REGISTER, {"username": "taken", "password": "another-good-pass"}, format="json")

    assert_error(response, 409, "username_taken")
    assert row_counts() == before


def test_register_with_the_username_of_a_staff_login_is_409(api, db):
    UserFactory(username="boss", is_staff=True)
    before = row_counts()

    response = api.post(REGISTER, {"username": "boss", "password": STRONG_PASSWORD}, format="json")

    assert_error(response, 409, "username_taken")
    assert row_counts() == before


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "1234567890123", "weakling-user"],
    ids=["too-short", "common", "numeric", "like-the-username"],
)
def test_register_with_a_weak_password_is_400_and_writes_nothing(api, db, password):
    before = row_counts()

    response = api.post(REGISTER, {"username": "weakling-user", "password": password}, format="json")

    assert_error(response, 400, "password_too_weak", "password")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"password": STRONG_PASSWORD}, "username"),
        ({"username": "someone"}, "password"),
        ({"username": "has space", "password": STRONG_PASSWORD}, "username"),
        ({"username": "x" * 151, "password": STRONG_PASSWORD}, "username"),
        ({"username": "", "password": STRONG_PASSWORD}, "username"),
    ],
    ids=["no-username", "no-password", "space-in-username", "username-too-long", "blank-username"],
)
def test_register_with_a_malformed_body_is_400_and_writes_nothing(api, db, body, attr):
    before = row_counts()

    response = api.post(REGISTER, body, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert attr in [e["attr"] for e in response.json()["errors"]]
    assert row_counts() == before


def test_register_cannot_claim_a_shopper_that_already_has_a_login(api, db):
    ShopperFactory(external_id="claimed", user=UserFactory(username="claimed-old-login"))
    before = row_counts()

    response = api.post(REGISTER, {"username": "claimed", "password": STRONG_PASSWORD}, format="json")

    assert_error(response, 409, "username_taken")
    assert row_counts() == before


def test_register_and_token_are_throttled(api, db, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    cache.clear()
    try:
        statuses = [
            api.post(TOKEN, {"username": "nobody", "password": "wrong-password"}, format="json").status_code
            for _ in range(3)
        ]
        response = api.post(REGISTER, {"username": "fresh", "password": STRONG_PASSWORD}, format="json")
    finally:
        cache.clear()

    assert statuses == [400, 400, 429]
    assert_error(response, 429, "throttled")
    assert not Shopper.objects.filter(external_id="fresh").exists()


# --- Token ----------------------------------------------------------------------------


def test_token_for_a_registered_shopper_is_a_working_token(api, db):
    api.post(REGISTER, {"username": "returning", "password": STRONG_PASSWORD}, format="json")

    response = api.post(TOKEN, {"username": "returning", "password": STRONG_PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    assert token_works(response.json()["token"])


@pytest.mark.parametrize(
    ("username", "password"),
    [("returning", "wrong-password"), ("nobody-here", STRONG_PASSWORD), ("RETURNING", STRONG_PASSWORD)],
    ids=["wrong-password", "unknown-user", "other-case"],
)
def test_token_with_bad_credentials_is_400_invalid_credentials_and_writes_nothing(
    api, db, username, password
):
    api.post(REGISTER, {"username": "returning", "password": STRONG_PASSWORD}, format="json")
    before = row_counts()

    response = api.post(TOKEN, {"username": username, "password": password}, format="json")

    assert_error(response, 400, "invalid_credentials")
    assert row_counts() == before


def test_a_staff_login_without_a_shopper_gets_no_token(api, db):
    # given: merchant staff log in to the admin, not to the shopper app
    UserFactory(username="staffer", is_staff=True)
    before = row_counts()

    response = api.post(TOKEN, {"username": "staffer", "password": USER_PASSWORD}, format="json")

    assert_error(response, 400, "invalid_credentials")
    assert row_counts() == before


def test_a_deactivated_shopper_gets_no_token(api, db):
    ShopperFactory(user=UserFactory(username="gone", is_active=False))

    response = api.post(TOKEN, {"username": "gone", "password": USER_PASSWORD}, format="json")

    assert_error(response, 400, "invalid_credentials")


def test_token_with_a_malformed_body_is_400_and_writes_nothing(api, db):
    before = row_counts()

    response = api.post(TOKEN, {"username": "someone"}, format="json")

    assert_error(response, 400, "required", "password")
    assert row_counts() == before


def test_each_login_is_a_separate_token(api, db):
    api.post(REGISTER, {"username": "twodevices", "password": STRONG_PASSWORD}, format="json")
    body = {"username": "twodevices", "password": STRONG_PASSWORD}

    first, second = (api.post(TOKEN, body, format="json").json()["token"] for _ in range(2))

    assert first != second
    assert token_works(first) and token_works(second)
    assert AuthToken.objects.filter(user=get_user_model().objects.get(username="twodevices")).count() == 3


def test_a_rotated_x_forwarded_for_does_not_escape_the_auth_throttle(api, db, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    cache.clear()
    try:
        statuses = [
            api.post(
                TOKEN,
                {"username": "nobody", "password": "wrong-password"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            ).status_code
            for n in range(3)
        ]
    finally:
        cache.clear()

    assert statuses == [400, 400, 429]
