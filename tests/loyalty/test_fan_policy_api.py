"""``fan_policy`` in GET and PATCH /api/v1/merchant/program: how engagement makes iron fans."""

import pytest

from members.engagement.models import FanPolicy
from tests.conftest import assert_error, row_counts
from tests.members.factories import FanPolicyFactory

PROGRAM = "/api/v1/merchant/program"
DEFAULTS = {
    "weights": {"view": 1.0, "like": 2.0, "comment": 4.0, "share": 6.0, "live_watch": 0.5, "purchase": 20.0},
    "half_life_days": 14.0,
    "promote_at": 40.0,
    "demote_below": 25.0,
    "min_active_days": 3,
}


def test_a_new_merchant_reads_the_default_policy_and_the_read_writes_nothing(merchant_api, merchant):
    response = merchant_api.get(PROGRAM)

    assert response.status_code == 200
    assert response.json()["fan_policy"] == DEFAULTS
    assert not FanPolicy.objects.filter(merchant=merchant).exists()


def test_patch_changes_the_fields_given_and_keeps_the_others(merchant_api, merchant):
    response = merchant_api.patch(
        PROGRAM,
        {"fan_policy": {"weights": {"comment": 5, "live_watch": 1}, "promote_at": 60, "min_active_days": 0}},
        format="json",
    )

    assert response.status_code == 200, response.content
    policy = response.json()["fan_policy"]
    assert policy["weights"] == DEFAULTS["weights"] | {"comment": 5.0, "live_watch": 1.0}
    assert (policy["promote_at"], policy["demote_below"], policy["min_active_days"]) == (60.0, 25.0, 0)
    stored = FanPolicy.objects.get(merchant=merchant)
    assert (stored.weight_comment, stored.promote_at, stored.half_life_days) == (5.0, 60.0, 14.0)
    assert merchant_api.get(PROGRAM).json()["fan_policy"] == policy


@pytest.mark.parametrize(
    ("fan_policy", "code", "attr"),
    [
        ({"demote_below": 40}, "invalid_fan_policy", "fan_policy.demote_below"),
        ({"promote_at": 20}, "invalid_fan_policy", "fan_policy.promote_at"),
        ({"promote_at": 10, "demote_below": 10}, "invalid_fan_policy", "fan_policy.demote_below"),
        ({"half_life_days": 0}, "min_value", "fan_policy.half_life_days"),
        ({"half_life_days": "soon"}, "invalid", "fan_policy.half_life_days"),
        ({"promote_at": 0}, "min_value", "fan_policy.promote_at"),
        ({"demote_below": -1}, "min_value", "fan_policy.demote_below"),
        ({"min_active_days": 31}, "max_value", "fan_policy.min_active_days"),
        ({"min_active_days": -1}, "min_value", "fan_policy.min_active_days"),
        ({"weights": {"like": -1}}, "min_value", "fan_policy.weights.like"),
        ({"weights": {"like": 1001}}, "max_value", "fan_policy.weights.like"),
        ({"weights": {"poke": 1}}, "invalid", "fan_policy.weights"),
        ({"weights": {"": 1, "a.b": 2}}, "invalid", "fan_policy.weights"),
        ({"weights": "heavy"}, "invalid", "fan_policy.weights.non_field_errors"),
        ("strict", "invalid", "fan_policy.non_field_errors"),
    ],
)
def test_a_bad_policy_is_a_400_naming_the_field_and_writes_nothing(
    merchant_api, merchant, fan_policy, code, attr
):
    FanPolicyFactory(merchant=merchant)
    before = row_counts()
    stored = FanPolicy.objects.values().get(merchant=merchant)

    response = merchant_api.patch(PROGRAM, {"join_bonus_points": 9, "fan_policy": fan_policy}, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before
    assert FanPolicy.objects.values().get(merchant=merchant) == stored


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf"])
def test_a_number_that_is_not_finite_is_refused(merchant_api, merchant, value):
    # (A bare NaN in the JSON is already a parse error.)
    response = merchant_api.patch(PROGRAM, {"fan_policy": {"promote_at": value}}, format="json")

    assert_error(response, 400, "invalid", "fan_policy.promote_at")
    assert not FanPolicy.objects.exists()


def test_patch_changes_no_other_merchants_policy(merchant_api, other_merchant):
    theirs = FanPolicyFactory(merchant=other_merchant, promote_at=77)

    merchant_api.patch(PROGRAM, {"fan_policy": {"promote_at": 99}}, format="json")

    theirs.refresh_from_db()
    assert theirs.promote_at == 77
