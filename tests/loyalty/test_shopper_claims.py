"""Claiming a platform id: nobody takes over a shopper's wallet by registering their id.

A merchant's order creates the shopper ``platform-user-77``; registering that username
needs the one-time code the merchant's system gets from
``POST /api/v1/merchant/shoppers/{external_id}/claim-code``.
"""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Shopper, ShopperClaim
from members.services import claims
from tests.conftest import assert_error, merchant_client, requires_postgres, row_counts
from tests.loyalty.conftest import ORDERS, order_body
from tests.members.factories import FollowFactory, MembershipFactory, ShopperFactory
from tests.threads import all_at_once

REGISTER = "/api/v1/auth/register"
PASSWORD = "correct-horse-battery"
PLATFORM_ID = "platform-user-77"


def claim_url(external_id: str) -> str:
    return f"/api/v1/merchant/shoppers/{external_id}/claim-code"


def register(api, username=PLATFORM_ID, **extra):
    return api.post(REGISTER, {"username": username, "password": PASSWORD, **extra}, format="json")


@pytest.fixture
def named(merchant_api, catalog):
    """A shopper that exists only because the merchant's order named them (and their coupons)."""
    merchant_api.post(ORDERS, order_body(PLATFORM_ID), format="json")
    return Shopper.objects.get(external_id=PLATFORM_ID)


def test_registering_a_platform_id_a_merchant_named_needs_a_claim_code_and_writes_nothing(api, named):
    before = row_counts()

    response = register(api)

    assert_error(response, 409, "claim_code_required")
    assert row_counts() == before
    named.refresh_from_db()
    assert named.user_id is None


def test_the_merchants_claim_code_lets_the_shopper_register_their_own_record(api, merchant_api, named):
    # given: the merchant's system asks for a code and gives it to the shopper
    issued = merchant_api.post(claim_url(PLATFORM_ID))
    assert issued.status_code == 201, issued.content
    body = issued.json()
    assert set(body) == {"code", "expires_at"}
    assert len(body["code"]) == claims.CLAIM_CODE_LENGTH

    # when: the shopper registers with it
    response = register(api, claim_code=body["code"])

    # then: the same shopper row has the login, and the code is gone
    assert response.status_code == 201, response.content
    named.refresh_from_db()
    assert named.user.username == PLATFORM_ID
    assert Shopper.objects.filter(external_id=PLATFORM_ID).count() == 1
    assert not ShopperClaim.objects.exists()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/me/follows").status_code == 200


def test_a_claim_code_is_typed_in_any_case(api, merchant_api, named):
    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]

    assert register(api, claim_code=f" {code.lower()} ").status_code == 201


def test_a_claim_code_opens_one_registration(api, merchant_api, named):
    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]
    register(api, claim_code=code)
    before = row_counts()

    response = register(api, claim_code=code)

    assert_error(response, 409, "username_taken")
    assert row_counts() == before


def test_a_wrong_claim_code_is_400_and_only_counts_the_attempt(api, merchant_api, named):
    merchant_api.post(claim_url(PLATFORM_ID))
    before = row_counts()

    response = register(api, claim_code="WRONG234")

    assert_error(response, 400, "claim_code_invalid", "claim_code")
    assert row_counts() == before
    assert ShopperClaim.objects.get().attempts == 1
    named.refresh_from_db()
    assert named.user_id is None


def test_after_the_allowed_attempts_even_the_right_code_is_refused(api, merchant_api, named):
    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]
    for _ in range(claims.MAX_CLAIM_ATTEMPTS):
        assert_error(register(api, claim_code="WRONG234"), 400, "claim_code_invalid")
    before = row_counts()

    response = register(api, claim_code=code)

    assert_error(response, 400, "claim_code_invalid", "claim_code")
    assert row_counts() == before


def test_an_expired_claim_code_is_refused(api, merchant_api, named):
    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]
    ShopperClaim.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = row_counts()

    response = register(api, claim_code=code)

    assert_error(response, 400, "claim_code_invalid", "claim_code")
    assert row_counts() == before


def test_a_claim_code_expires_within_minutes(merchant_api, named):
    issued = merchant_api.post(claim_url(PLATFORM_ID)).json()

    expires_at = timezone.datetime.fromisoformat(issued["expires_at"])
    assert timedelta(0) < expires_at - timezone.now() <= claims.CLAIM_CODE_TTL


def test_only_a_keyed_hash_of_the_code_is_stored(merchant_api, named):
    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]

    stored = ShopperClaim.objects.get().code_hash
    assert code not in stored
    assert stored != hashlib.sha256(code.encode()).hexdigest()


def test_asking_again_replaces_the_merchants_previous_code(api, merchant_api, named):
    first = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]
    second = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]

    assert ShopperClaim.objects.count() == 1
    assert_error(register(api, claim_code=first), 400, "claim_code_invalid")
    assert register(api, claim_code=second).status_code == 201


def test_a_shopper_who_registered_first_keeps_working_once_named_in_orders(api, merchant_api, catalog):
    token = register(api, username="early-bird").json()["token"]

    order = merchant_api.post(ORDERS, order_body("early-bird"), format="json")

    assert order.status_code == 201, order.content
    assert Shopper.objects.filter(external_id="early-bird").count() == 1
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/follows").status_code == 200


def test_a_registered_shopper_needs_no_claim_code_and_the_request_writes_nothing(api, merchant_api, catalog):
    register(api, username="early-bird")
    merchant_api.post(ORDERS, order_body("early-bird"), format="json")
    before = row_counts()

    response = merchant_api.post(claim_url("early-bird"))

    assert_error(response, 409, "shopper_registered")
    assert row_counts() == before


@pytest.mark.parametrize(
    "relation",
    [
        lambda shopper, merchant: MembershipFactory(shopper=shopper, merchant=merchant),
        lambda shopper, merchant: FollowFactory(shopper=shopper, account__merchant=merchant),
    ],
    ids=["member", "fan"],
)
def test_a_merchant_gets_claim_codes_for_its_members_and_fans(merchant, merchant_api, relation):
    shopper = ShopperFactory(user=None)
    relation(shopper, merchant)

    assert merchant_api.post(claim_url(shopper.external_id)).status_code == 201


def test_another_merchants_shopper_is_404_and_nothing_is_written(named, other_merchant_api):
    before = row_counts()

    response = other_merchant_api.post(claim_url(PLATFORM_ID))

    assert_error(response, 404, "shopper_not_found")
    assert row_counts() == before


def test_an_unknown_shopper_is_404(merchant_api):
    assert_error(merchant_api.post(claim_url("nobody-at-all")), 404, "shopper_not_found")


def test_another_merchants_claim_code_opens_the_shopper_too(api, merchant, named, other_merchant):
    # The platform id is one person's, whichever merchant's system passes the code on.
    MembershipFactory(shopper=named, merchant=other_merchant)
    code = merchant_client(other_merchant).post(claim_url(PLATFORM_ID)).json()["code"]

    assert register(api, claim_code=code).status_code == 201


def test_claim_code_needs_a_merchant_key(api, named):
    assert_error(api.post(claim_url(PLATFORM_ID)), 401, "not_authenticated")


def test_guessing_claim_codes_is_throttled(api, merchant_api, named, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    code = merchant_api.post(claim_url(PLATFORM_ID)).json()["code"]
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    cache.clear()
    try:
        guesses = [register(api, claim_code="WRONG234").status_code for _ in range(2)]
        throttled = register(api, claim_code=code)
    finally:
        cache.clear()

    assert guesses == [400, 400]
    assert_error(throttled, 429, "throttled")
    # the throttled request was not an attempt
    assert ShopperClaim.objects.get().attempts == 2


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_never_get_more_than_the_allowed_attempts(catalog, merchant):
    merchant_client(merchant).post(ORDERS, order_body(PLATFORM_ID), format="json")
    shopper = Shopper.objects.get(external_id=PLATFORM_ID)
    code, _ = claims.claim_code_issue(merchant=merchant, shopper=shopper)
    guesses = 3 * claims.MAX_CLAIM_ATTEMPTS

    results = all_at_once([lambda: claims.claim_attempt(shopper=shopper, code="WRONG234")] * guesses)

    assert all(type(r).__name__ == "ClaimCodeInvalid" for r in results), results
    assert ShopperClaim.objects.get().attempts == claims.MAX_CLAIM_ATTEMPTS
    with pytest.raises(Exception, match="claim code"):
        claims.claim_attempt(shopper=shopper, code=code)
