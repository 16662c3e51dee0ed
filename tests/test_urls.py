"""The contract's paths have no trailing slash; the same path with one must work too."""

import pytest

from tests.members.factories import USER_PASSWORD, AccountFactory, MembershipFactory

# (method, path with a trailing slash, caller, body, success status)
SLASHED = [
    (
        "post",
        "/api/v1/auth/register/",
        None,
        {"username": "slashy", "password": "correct-horse-battery"},
        201,
    ),
    ("post", "/api/v1/auth/token/", None, {"username": "{shopper}", "password": USER_PASSWORD}, 200),
    ("get", "/api/v1/me/follows/", "shopper", None, 200),
    ("post", "/api/v1/me/follows/", "shopper", {"account": "other-koe"}, 201),
    ("delete", "/api/v1/me/follows/slash-koe/", "shopper", None, 204),
    ("post", "/api/v1/me/memberships/", "shopper", {"merchant": "{merchant}"}, 201),
    ("delete", "/api/v1/me/memberships/{member_of}/", "shopper", None, 204),
    ("get", "/api/v1/merchant/accounts/", "merchant", None, 200),
    (
        "post",
        "/api/v1/merchant/accounts/",
        "merchant",
        {"handle": "new-koe", "kind": "koe", "display_name": "N"},
        201,
    ),
    ("post", "/api/v1/merchant/tiers/", "merchant", {"name": "Fan", "rank": 1, "min_spend_12m": "0"}, 201),
    ("get", "/api/v1/merchant/members/", "merchant", None, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "caller", "body", "expected"), SLASHED, ids=[f"{m} {p}" for m, p, *_ in SLASHED]
)
def test_every_endpoint_answers_with_a_trailing_slash_too(
    api, merchant, merchant_api, shopper, shopper_api, method, path, caller, body, expected
):
    # given: a shopper with a login (shopper_api), an account they follow, a membership to leave
    AccountFactory(merchant=merchant, handle="slash-koe")
    AccountFactory(merchant=merchant, handle="other-koe")
    shopper_api.post("/api/v1/me/follows", {"account": "slash-koe"}, format="json")
    member_of = MembershipFactory(shopper=shopper).merchant.slug
    names = {"shopper": shopper.external_id, "merchant": merchant.slug, "member_of": member_of}
    path = path.format(**names)
    body = {k: v.format(**names) if isinstance(v, str) else v for k, v in (body or {}).items()}
    client = {None: api, "shopper": shopper_api, "merchant": merchant_api}[caller]

    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)

    assert response.status_code == expected, response.content


def test_the_schema_lists_each_operation_once_without_a_trailing_slash(api, db):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert "/api/v1/me/follows" in paths
    assert "/api/v1/me/follows/{handle}" in paths
    assert not [p for p in paths if p.endswith("/")]
