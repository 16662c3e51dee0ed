"""The shopper's own storefront reads and writes: preferences and the inbox of pushed products."""

from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.api import paginated_response
from core.schema import api_operation
from members.authentication import ShopperApi
from storefront import affinity, errors, selectors
from storefront.services.inbox import inbox_open


class PreferenceOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["category", "tag"])
    slug = serializers.CharField()
    weight = serializers.FloatField(help_text="Share of the listed affinities; they sum to 1.")


class PreferenceListApi(ShopperApi):
    @api_operation(
        summary="My preferences",
        responses=inline_serializer(
            "Preferences",
            {
                "as_of": serializers.DateTimeField(help_text="The weights are decayed to this time."),
                "half_life_days": serializers.FloatField(),
                "preferences": PreferenceOutput(many=True),
            },
        ),
        tags=["shopper"],
        description=f"The shopper's {affinity.SHOWN} strongest affinities, strongest first.",
    )
    def get(self, request):
        now = timezone.now()
        preferences = selectors.preferences_top(shopper=self.shopper, now=now)
        return Response(
            {
                "as_of": serializers.DateTimeField().to_representation(now),
                "half_life_days": affinity.HALF_LIFE.total_seconds() / 86400,
                "preferences": PreferenceOutput(preferences, many=True).data,
            }
        )


class InboxProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField())


class InboxMerchantOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class InboxMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = InboxProductOutput()
    merchant = InboxMerchantOutput(source="product.merchant")
    delivered_at = serializers.DateTimeField()
    opened_at = serializers.DateTimeField(allow_null=True)


class InboxListApi(ShopperApi):
    @api_operation(
        summary="My inbox",
        description="Products pushed to the shopper (fans first), newest delivery first. Pushes held "
        "back by the daily cap show once delivered. Reads only.",
        responses=InboxMessageOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        messages = selectors.inbox_list(shopper=self.shopper)
        return paginated_response(
            self, request, messages, InboxMessageOutput, ordering=("-delivered_at", "-id")
        )


class InboxOpenApi(ShopperApi):
    @api_operation(
        summary="Open a pushed product",
        request=None,
        responses=InboxMessageOutput,
        errors=[errors.InboxMessageNotFound],
        tags=["shopper"],
        description="Mark the message opened (once; again changes nothing): the rollout's feedback.",
    )
    def post(self, request, id: int):
        message = inbox_open(shopper=self.shopper, message_id=id)
        message = selectors.inbox_list(shopper=self.shopper).get(pk=message.pk)
        return Response(InboxMessageOutput(message).data)
