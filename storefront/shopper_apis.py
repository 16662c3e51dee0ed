"""The shopper's own storefront reads and writes: preferences and the inbox of pushed products."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from members.authentication import ShopperApi
from storefront import affinity, selectors


class PreferenceOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["category", "tag"])
    slug = serializers.CharField()
    weight = serializers.FloatField(help_text="Share of the listed affinities; they sum to 1.")


class PreferenceListApi(ShopperApi):
    @extend_schema(
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
