"""GET and PATCH /api/v1/merchant/program: the points terms of the merchant's program."""

from decimal import Decimal

import pytest

from loyalty.models import Program
from storefront.models import RolloutPolicy
from tests.conftest import assert_error, row_counts
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import MembershipFactory

PROGRAM = "/api/v1/merchant/program"

# The API key, the program, the fan policy.
PROGRAM_QUERIES = 3


def test_program_shows_the_points_terms(merchant_api, program):
    response = merchant_api.get(PROGRAM)

    assert response.status_code == 200
    assert {
        k: response.json()[k] for k in ("points_per_unit", "points_expiry_days", "join_bonus_points")
    } == {
        "points_per_unit": "1.00",
        "points_expiry_days": 365,
        "join_bonus_points": 0,
    }


def test_merchant_without_a_program_reads_the_defaults_and_a_get_writes_nothing(merchant_api, merchant):
    response = merchant_api.get(PROGRAM)

    assert response.status_code == 200
    assert response.json()["points_per_unit"] == "1.00"
    assert not Program.objects.filter(merchant=merchant).exists()


def test_patch_changes_only_the_fields_given(merchant_api, program):
    response = merchant_api.patch(
        PROGRAM, {"points_per_unit": "2.50", "join_bonus_points": 100}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["points_per_unit"] == "2.50"
    program.refresh_from_db()
    assert (program.points_per_unit, program.join_bonus_points, program.points_expiry_days) == (
        Decimal("2.50"),
        100,
        365,
    )


def test_points_can_be_made_to_never_expire(merchant_api, program):
    response = merchant_api.patch(PROGRAM, {"points_expiry_days": None}, format="json")

    assert response.json()["points_expiry_days"] is None
    program.refresh_from_db()
    assert program.points_expiry_days is None


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"points_per_unit": "-1"}, "min_value", "points_per_unit"),
        ({"points_per_unit": "1.234"}, "max_decimal_places", "points_per_unit"),
        ({"points_per_unit": "lots"}, "invalid", "points_per_unit"),
        ({"points_expiry_days": 0}, "min_value", "points_expiry_days"),
        ({"join_bonus_points": -5}, "min_value", "join_bonus_points"),
        ({"tier_grace_days": -1}, "min_value", "tier_grace_days"),
        ({"tier_grace_days": 3651}, "max_value", "tier_grace_days"),
        ({"tier_grace_days": "soon"}, "invalid", "tier_grace_days"),
    ],
)
def test_bad_program_change_is_a_400_and_writes_nothing(merchant_api, program, body, code, attr):
    before = row_counts()

    response = merchant_api.patch(PROGRAM, {"join_bonus_points": 7, **body}, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before
    program.refresh_from_db()
    assert program.join_bonus_points == 0


def test_patch_changes_no_other_merchants_program(merchant_api, program, other_merchant):
    theirs = ProgramFactory(merchant=other_merchant, join_bonus_points=3)

    merchant_api.patch(PROGRAM, {"join_bonus_points": 50}, format="json")

    theirs.refresh_from_db()
    assert theirs.join_bonus_points == 3


def test_program_without_credentials_is_401(api, program):
    assert api.get(PROGRAM).status_code == 401
    assert api.patch(PROGRAM, {"join_bonus_points": 5}, format="json").status_code == 401
    program.refresh_from_db()
    assert program.join_bonus_points == 0


def test_shopper_token_cannot_read_the_program(shopper_api, program):
    assert_error(shopper_api.get(PROGRAM), 401, "wrong_credential_kind")


@pytest.mark.parametrize("members", [2, 20])
def test_program_read_keeps_its_query_budget_as_the_merchant_grows(
    merchant_api, merchant, program, django_assert_max_num_queries, members
):
    MembershipFactory.create_batch(members, merchant=merchant)

    with django_assert_max_num_queries(PROGRAM_QUERIES):
        assert merchant_api.get(PROGRAM).status_code == 200


def test_program_shows_the_rollout_defaults_until_they_change(merchant_api, program):
    assert merchant_api.get(PROGRAM).json()["rollout"] == {
        "stage_hours": 24,
        "open_rate_to_advance": "0.200",
        "max_pushes_per_day": 3,
    }
    assert not RolloutPolicy.objects.exists()


def test_patch_changes_only_the_rollout_settings_given(merchant_api, merchant, program, other_merchant):
    response = merchant_api.patch(PROGRAM, {"rollout": {"open_rate_to_advance": "0.35"}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["rollout"] == {
        "stage_hours": 24,
        "open_rate_to_advance": "0.350",
        "max_pushes_per_day": 3,
    }
    response = merchant_api.patch(
        PROGRAM, {"rollout": {"stage_hours": 6, "max_pushes_per_day": 5}}, format="json"
    )
    assert response.json()["rollout"] == {
        "stage_hours": 6,
        "open_rate_to_advance": "0.350",
        "max_pushes_per_day": 5,
    }
    assert merchant_api.get(PROGRAM).json()["rollout"]["stage_hours"] == 6
    assert not RolloutPolicy.objects.filter(merchant=other_merchant).exists()


@pytest.mark.parametrize(
    ("rollout", "code", "attr"),
    [
        ({"stage_hours": 0}, "min_value", "rollout.stage_hours"),
        ({"stage_hours": 721}, "max_value", "rollout.stage_hours"),
        ({"open_rate_to_advance": "1.5"}, "max_value", "rollout.open_rate_to_advance"),
        ({"open_rate_to_advance": "-0.1"}, "min_value", "rollout.open_rate_to_advance"),
        ({"open_rate_to_advance": "0.1234"}, "max_decimal_places", "rollout.open_rate_to_advance"),
        ({"max_pushes_per_day": 0}, "min_value", "rollout.max_pushes_per_day"),
        ({"max_pushes_per_day": "many"}, "invalid", "rollout.max_pushes_per_day"),
    ],
)
def test_bad_rollout_settings_are_a_400_and_write_nothing(merchant_api, program, rollout, code, attr):
    before = row_counts()

    response = merchant_api.patch(PROGRAM, {"join_bonus_points": 7, "rollout": rollout}, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_the_tier_grace_period_defaults_to_30_days_and_can_change(merchant_api, program):
    assert merchant_api.get(PROGRAM).json()["tier_grace_days"] == 30

    response = merchant_api.patch(PROGRAM, {"tier_grace_days": 0}, format="json")

    assert response.status_code == 200
    assert response.json()["tier_grace_days"] == 0
    program.refresh_from_db()
    assert program.tier_grace_days == 0
