"""The merchant's engagement feed: platform events in batches."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from loyalty.services.engagement import engagement_record
from members.api import MerchantApi, validated
from members.engagement.models import EngagementKind
from members.engagement.services import MAX_BATCH, MAX_QUANTITY, EventInput

EngagementOutput = inline_serializer(
    "EngagementRecordOutput",
    {
        "accepted": serializers.IntegerField(help_text="Events stored and counted."),
        "duplicates": serializers.IntegerField(
            help_text="Events whose id was seen before for that account (and time): counted once."
        ),
    },
)


class EngagementEventInput(serializers.Serializer):
    id = serializers.CharField(
        max_length=128, required=False, help_text="The platform's event id: a redelivery counts once."
    )
    shopper = serializers.CharField(
        max_length=150, help_text="The platform's user id; unknown ones are created."
    )
    account = serializers.CharField(max_length=50, help_text="Handle of one of the merchant's accounts.")
    kind = serializers.ChoiceField(choices=EngagementKind.choices)
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        default=1,
        help_text="Minutes watched for live_watch; else a count.",
    )
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(help_text="At most a few minutes ahead of the server's clock.")


class EngagementRecordApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        events = EngagementEventInput(many=True, max_length=MAX_BATCH)

    @extend_schema(request=InputSerializer, responses={202: EngagementOutput}, tags=["merchant"])
    def post(self, request):
        data = validated(self.InputSerializer, request)
        events = [
            EventInput(
                shopper=e["shopper"],
                account=e["account"],
                kind=e["kind"],
                occurred_at=e["occurred_at"],
                quantity=e["quantity"],
                sku=e["sku"],
                source_id=e.get("id"),
            )
            for e in data["events"]
        ]
        result = engagement_record(merchant=self.merchant, events=events)
        return Response(
            {"accepted": result.accepted, "duplicates": result.duplicates}, status=status.HTTP_202_ACCEPTED
        )
