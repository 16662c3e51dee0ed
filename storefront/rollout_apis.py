"""The merchant's view of a product's fans-first rollout."""

from rest_framework import serializers
from rest_framework.response import Response

from core.schema import api_operation
from members.authentication import MerchantApi
from storefront import errors, selectors
from storefront.services.rollouts import RUNNING, StageCount, stage_counts

RATE = {"max_digits": 4, "decimal_places": 3, "allow_null": True}


class StageOutput(serializers.Serializer):
    stage = serializers.CharField()
    sent = serializers.IntegerField(source="delivered", help_text="Delivered to the shoppers' inboxes.")
    opened = serializers.IntegerField()
    deferred = serializers.IntegerField(help_text="Waiting for a day with room under the push cap.")
    open_rate = serializers.DecimalField(**RATE, help_text="opened / sent; null before anything was sent.")


class RolloutOutput(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    stage = serializers.ChoiceField(choices=["iron_fans", "followers", "public", "done", "held"])
    stage_started_at = serializers.DateTimeField()
    sent = serializers.IntegerField()
    opened = serializers.IntegerField()
    open_rate = serializers.DecimalField(**RATE, help_text="Of the stage running or held, opened / sent.")
    held_stage = serializers.CharField(
        allow_null=True, help_text="The stage that was running when it was held."
    )
    held_reason = serializers.CharField(allow_null=True)
    stages = StageOutput(many=True)


class RolloutGetApi(MerchantApi):
    @api_operation(
        summary="A product's fans-first rollout",
        description="The stage, sent and opened per stage, the open rate and why it is held. Reads only.",
        responses=RolloutOutput,
        errors=[errors.ProductNotFound, errors.RolloutNotFound],
        tags=["merchant catalog"],
    )
    def get(self, request, sku: str):
        rollout = selectors.rollout_get(merchant=self.merchant, sku=sku)
        counts = stage_counts(rollout_ids=[rollout.pk]).get(rollout.pk, {})
        judged = rollout.held_stage or rollout.stage
        stages = [_stage_row(stage, counts[stage]) for stage in RUNNING if stage in counts]
        body = {
            "product": rollout.product,
            "stage": rollout.stage,
            "stage_started_at": rollout.stage_started_at,
            "sent": rollout.sent,
            "opened": rollout.opened,
            "open_rate": counts[judged].open_rate if judged in counts else None,
            "held_stage": rollout.held_stage or None,
            "held_reason": rollout.held_reason or None,
            "stages": stages,
        }
        return Response(RolloutOutput(body).data)


def _stage_row(stage: str, count: StageCount) -> dict:
    return {
        "stage": stage,
        "delivered": count.delivered,
        "opened": count.opened,
        "deferred": count.deferred,
        "open_rate": count.open_rate,
    }
