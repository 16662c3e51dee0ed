"""The shopper's own storefront reads and writes: preferences and the inbox of pushed products."""

from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.api import moment_text, money_text
from core.pagination import Keyset
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


def inbox_answer(row: selectors.InboxRow, *, tz) -> dict:
    """What ``InboxMessageOutput`` makes of a delivered push, built directly (times in
    ``tz``). tests/storefront/test_inbox_answer.py checks the two agree."""
    return {
        "id": row.id,
        "product": {
            "sku": row.sku,
            "title": row.title,
            "price": money_text(row.price),
            "category": row.category_slug,
            "tags": [str(tag) for tag in row.tags],
        },
        "merchant": {"slug": row.merchant_slug, "name": row.merchant_name},
        "delivered_at": moment_text(row.delivered_at, tz),
        "opened_at": moment_text(row.opened_at, tz),
    }


class InboxListApi(ShopperApi):
    @api_operation(
        summary="My inbox",
        description="Products pushed to the shopper (fans first), newest delivery first. Pushes held "
        "back by the daily cap show once delivered. Reads only.",
        responses=InboxMessageOutput(many=True),
        tags=["shopper"],
    )
    def get(self, request):
        keyset = Keyset.from_request(request, fields=selectors.INBOX_PAGE_KEY, descending=True)
        rows = selectors.inbox_page(shopper=self.shopper, keyset=keyset)
        # InboxMessageOutput's answer (the schema's), built directly.
        tz = timezone.get_current_timezone()
        return keyset.response(
            rows, key=lambda row: (row.delivered_at, row.id), answer=lambda row: inbox_answer(row, tz=tz)
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
