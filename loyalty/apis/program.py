import math
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from core.api import validated
from core.fields import model_field
from core.schema import api_operation
from coupons import errors as coupon_errors
from loyalty import selectors
from loyalty.models import Program
from loyalty.services.program import program_update
from members import errors as members_errors
from members.authentication import MerchantApi
from members.engagement.models import EngagementKind
from storefront import selectors as storefront_selectors
from storefront.models import RolloutPolicy


class FiniteFloatField(serializers.FloatField):
    """A float that is a number: JSON parsers let NaN and Infinity through, and NaN
    passes every min/max check."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


WEIGHT_SCHEMA = {"type": "number", "format": "double", "minimum": 0, "maximum": 1000}


# The schema says what the server takes: the kinds, and no other key (found by the
# schema fuzz: a schema-valid object with another key was refused).
@extend_schema_field(
    {
        "type": "object",
        "properties": dict.fromkeys(EngagementKind.values, WEIGHT_SCHEMA),
        "additionalProperties": False,
    }
)
class FanPolicyWeightsField(serializers.Serializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in EngagementKind.values:
            self.fields[kind] = FiniteFloatField(min_value=0, max_value=1000, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(EngagementKind.values))
            if unknown:
                # Reported on the object, not under the unknown key: a key is the
                # caller's text (empty, dotted, anything), no field name to point at.
                raise serializers.ValidationError(
                    f"Not engagement kinds: {', '.join(map(repr, unknown[:5]))}; "
                    f"the kinds are {', '.join(EngagementKind.values)}.",
                    code="invalid",
                )
        return super().to_internal_value(data)


class FanPolicyInput(serializers.Serializer):
    weights = FanPolicyWeightsField(
        required=False, help_text="Points per event of each kind (per minute of live_watch)."
    )
    half_life_days = FiniteFloatField(min_value=0.25, max_value=365, required=False)
    promote_at = FiniteFloatField(min_value=0.01, max_value=1_000_000, required=False)
    demote_below = FiniteFloatField(
        min_value=0, max_value=1_000_000, required=False, help_text="Must stay below promote_at."
    )
    min_active_days = serializers.IntegerField(
        min_value=0,
        max_value=30,
        required=False,
        help_text="Distinct days with engagement in the last 30; 0: off.",
    )


class FanPolicyOutput(serializers.Serializer):
    weights = serializers.DictField(child=serializers.FloatField())
    half_life_days = serializers.FloatField()
    promote_at = serializers.FloatField()
    demote_below = serializers.FloatField()
    min_active_days = serializers.IntegerField()


class RolloutSettingsOutput(serializers.Serializer):
    stage_hours = serializers.IntegerField()
    open_rate_to_advance = serializers.DecimalField(max_digits=4, decimal_places=3)
    max_pushes_per_day = serializers.IntegerField()


class RolloutSettingsInput(serializers.Serializer):
    stage_hours = model_field(
        RolloutPolicy,
        "stage_hours",
        min_value=1,
        max_value=720,
        required=False,
        help_text="Hours a stage runs before it is judged.",
    )
    open_rate_to_advance = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        help_text="Opened / delivered at or above this moves a rollout to its next stage; below, it is held.",
    )
    max_pushes_per_day = model_field(
        RolloutPolicy,
        "max_pushes_per_day",
        min_value=1,
        max_value=100,
        required=False,
        help_text="Pushes a shopper receives per calendar day, every merchant's counted.",
    )


class ProgramOutput(serializers.Serializer):
    points_per_unit = serializers.DecimalField(max_digits=8, decimal_places=2)
    points_expiry_days = serializers.IntegerField(allow_null=True)
    join_bonus_points = serializers.IntegerField()
    join_coupon_template = serializers.IntegerField(source="join_coupon_template_id", allow_null=True)
    repurchase_template = serializers.IntegerField(source="repurchase_template_id", allow_null=True)
    repurchase_delay_days = serializers.IntegerField()
    fan_policy = FanPolicyOutput(source="fan_policy_settings")
    repurchase_members_only = serializers.BooleanField()
    tier_grace_days = serializers.IntegerField()
    rollout = serializers.SerializerMethodField()

    @extend_schema_field(RolloutSettingsOutput)
    def get_rollout(self, program) -> dict:
        return RolloutSettingsOutput(storefront_selectors.rollout_policy_of(merchant=program.merchant)).data


class ProgramApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        points_per_unit = model_field(Program, "points_per_unit", required=False)
        points_expiry_days = model_field(
            Program,
            "points_expiry_days",
            min_value=1,
            max_value=3650,
            allow_null=True,
            required=False,
            help_text="null: points never expire.",
        )
        join_bonus_points = model_field(Program, "join_bonus_points", max_value=1_000_000, required=False)
        join_coupon_template = model_field(
            Program,
            "join_coupon_template",
            allow_null=True,
            required=False,
            help_text="Template id issued on a first join.",
        )
        repurchase_template = model_field(
            Program,
            "repurchase_template",
            allow_null=True,
            required=False,
            help_text="Template id issued after a first order.",
        )
        repurchase_delay_days = model_field(Program, "repurchase_delay_days", max_value=365, required=False)
        fan_policy = FanPolicyInput(required=False)
        repurchase_members_only = serializers.BooleanField(
            required=False,
            help_text="Off (default): a shopper's first order earns the repurchase coupon, member or not. "
            "On: only if they are a member when they place it.",
        )
        rollout = RolloutSettingsInput(required=False)
        tier_grace_days = model_field(
            Program,
            "tier_grace_days",
            max_value=3650,
            required=False,
            help_text="Days a member keeps a tier they reached before the nightly tier review may "
            "move them one tier down (default 30).",
        )

    @api_operation(
        summary="Read the loyalty program",
        description="How members earn and keep points and which coupons the program issues. A "
        "merchant that never changed it reads the defaults. Reads only.",
        responses=ProgramOutput,
        tags=["merchant"],
    )
    def get(self, request):
        return Response(ProgramOutput(selectors.program_with_fan_policy(merchant=self.merchant)).data)

    @api_operation(
        summary="Change the loyalty program",
        description="Changes the settings given and leaves the others; the same change twice is "
        "harmless. `points_per_unit`: points per unit of money paid; `points_expiry_days`: how long "
        "earned points last (null: for ever); `join_bonus_points` and `join_coupon_template`: paid "
        "once on a shopper's first join; `repurchase_template`: issued `repurchase_delay_days` after "
        "a shopper's first order; `tier_grace_days`: how long a member keeps a tier they reached "
        "before the nightly review may move them one tier down when their 12-month spend no longer "
        "reaches it. "
        "A template id the merchant does not have is a 400 "
        "`coupon_template_not_found` on that field. In `fan_policy`, `demote_below` must stay below "
        "`promote_at` (`invalid_fan_policy`).",
        request=InputSerializer,
        responses=ProgramOutput,
        errors=[
            coupon_errors.TemplateNotFound.on("join_coupon_template"),
            coupon_errors.TemplateNotFound.on("repurchase_template"),
            members_errors.FanPolicyInvalid.on("fan_policy.demote_below"),
            members_errors.FanPolicyInvalid.on("fan_policy.promote_at"),
        ],
        tags=["merchant"],
    )
    def patch(self, request):
        data = validated(self.InputSerializer, request)
        program_update(merchant=self.merchant, **data)
        return Response(ProgramOutput(selectors.program_with_fan_policy(merchant=self.merchant)).data)
