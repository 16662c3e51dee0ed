"""The merchant's engagement feed: platform events in batches."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import validated
from core.schema import api_operation
from loyalty.apis.engagement_input import EventListField, well_formed_batch
from loyalty.services.engagement import engagement_record
from members import errors
from members.authentication import MerchantApi
from members.engagement.services import MAX_BATCH, EventInput

EngagementOutput = inline_serializer(
    "EngagementRecordOutput",
    {
        "accepted": serializers.IntegerField(help_text="Events stored and counted."),
        "duplicates": serializers.IntegerField(
            help_text="Events whose id was seen before for that account (and time): counted once."
        ),
    },
)


class EngagementRecordApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        events = EventListField(help_text=f"Up to {MAX_BATCH} events; one bad event refuses the batch.")

    @api_operation(
        summary="Record engagement events",
        description="Up to 1000 platform events (view, like, comment, share, live_watch in minutes, "
        "purchase) for the merchant's accounts. Unknown shoppers are created. An event whose `id` was "
        "seen before for that account (and time) counts once (`duplicates`). Any bad event refuses the "
        "whole batch with a 400 naming it (`events.3.kind`), writing nothing: another merchant's or an "
        "unknown account is `unknown_account`, a time more than a few minutes ahead is "
        "`occurred_in_future`. The followers' decayed fan scores move at once; a shopper who does not "
        "follow earns a score that their follow starts from.",
        request=InputSerializer,
        responses={202: EngagementOutput},
        errors=[
            errors.EngagementAccountUnknown.on("events.INDEX.account"),
            errors.EngagementInFuture.on("events.INDEX.occurred_at"),
            errors.EngagementTooOld.on("events.INDEX.occurred_at"),
        ],
        tags=["merchant"],
    )
    def post(self, request):
        events = well_formed_batch(request)
        if events is None:  # something is off: the general checks say what
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
