"""The merchant's view of its accounts' fans over time."""

from datetime import UTC, datetime

from rest_framework import serializers

from core.api import paginated_response, validated
from core.schema import api_operation
from members import errors
from members.authentication import MerchantApi
from members.engagement import selectors


class AccountDailyStatOutput(serializers.Serializer):
    date = serializers.DateField()
    fans = serializers.IntegerField()
    iron_fans = serializers.IntegerField()
    iron_fan_ratio = serializers.FloatField(help_text="iron_fans / fans, 4 decimals; 0 without fans.")
    promoted = serializers.IntegerField(help_text="Fans who became iron fans that day.")
    demoted = serializers.IntegerField(help_text="Iron fans who fell back that day.")


class AccountStatsApi(MerchantApi):
    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=366, default=30)

    @api_operation(
        summary="Daily fan stats of an account",
        description="The account's daily snapshots of the last `days` days (today included), oldest "
        "first: fans, iron fans, their ratio, and the fans promoted and demoted that day. A day appears "
        "once its snapshot has been taken (nightly, or by `snapshot_fan_stats`). Another merchant's or "
        "an unknown handle is a 404. Reads only.",
        filters=FilterSerializer,
        responses=AccountDailyStatOutput(many=True),
        errors=[errors.AccountNotFound],
        tags=["merchant"],
    )
    def get(self, request, handle: str):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        account = selectors.account_get(merchant=self.merchant, handle=handle)
        stats = selectors.account_daily_stats(
            account=account, days=filters["days"], today=datetime.now(UTC).date()
        )
        return paginated_response(self, request, stats, AccountDailyStatOutput, ordering="date")
