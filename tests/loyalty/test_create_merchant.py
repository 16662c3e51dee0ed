"""python manage.py create_merchant SLUG --name NAME: onboarding from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from members.models import Account, Merchant, MerchantAPIKey
from tests.conftest import row_counts
from tests.members.factories import AccountFactory, MerchantFactory


def create_merchant(*args, **options) -> list[str]:
    out = StringIO()
    call_command("create_merchant", *args, stdout=out, **options)
    return out.getvalue().splitlines()


def test_create_merchant_prints_a_working_key_alone_on_the_last_line(db):
    lines = create_merchant("acme-beauty", name="Acme Beauty")

    key = lines[-1]
    assert key == key.strip() and " " not in key
    merchant = Merchant.objects.get(slug="acme-beauty")
    assert merchant.name == "Acme Beauty"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.get("/api/v1/merchant/accounts")
    assert response.status_code == 200, response.content
    assert [(a["handle"], a["kind"]) for a in response.json()["results"]] == [("acme-beauty", "brand")]


def test_create_merchant_stores_the_key_hashed(db):
    key = create_merchant("hashed-shop", name="Hashed")[-1]

    stored = MerchantAPIKey.objects.get(merchant__slug="hashed-shop")
    assert key not in (stored.hashed_key, stored.id)


def test_create_merchant_with_a_taken_slug_fails_and_writes_nothing(db):
    MerchantFactory(slug="taken-shop")
    before = row_counts()

    with pytest.raises(CommandError, match="slug already exists"):
        create_merchant("taken-shop", name="Again")

    assert row_counts() == before


def test_create_merchant_whose_slug_is_an_account_handle_fails_and_writes_nothing(db):
    # The brand account's handle is the slug, and handles are global.
    AccountFactory(handle="lin-koe")
    before = row_counts()

    with pytest.raises(CommandError):
        create_merchant("lin-koe", name="Lin")

    assert row_counts() == before
    assert Account.objects.filter(handle="lin-koe").count() == 1


@pytest.mark.parametrize(
    "slug",
    ["Acme", "a", "acme beauty", "-acme", "acme\n"],
    ids=["upper", "short", "space", "dash", "newline"],
)
def test_create_merchant_with_a_malformed_slug_fails_and_writes_nothing(db, slug):
    before = row_counts()

    with pytest.raises(CommandError, match="slug"):
        create_merchant(slug, name="Bad")

    assert row_counts() == before


def test_create_merchant_needs_a_name(db):
    with pytest.raises(CommandError, match="--name"):
        create_merchant("nameless")
