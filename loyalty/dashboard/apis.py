"""``GET /api/v1/merchant/metrics``: the dashboard's daily series for the merchant's own systems."""

from datetime import UTC

from django.utils import timezone
from rest_framework import serializers

from core.api import paginated_response, validated
from core.schema import api_operation
from loyalty.dashboard import selectors
from members.authentication import MerchantApi

MAX_DAYS = 400


class TierCountOutput(serializers.Serializer):
    tier = serializers.CharField(allow_null=True, help_text="The tier's name; null: members without a tier.")
    members = serializers.IntegerField()


class CouponCountOutput(serializers.Serializer):
    template = serializers.IntegerField(help_text="The coupon template's id.")
    template_name = serializers.CharField()
    source = serializers.CharField(help_text="join, repurchase, campaign, exchange or manual.")
    campaign = serializers.IntegerField(allow_null=True, help_text="The campaign's id (campaign coupons).")
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    expired = serializers.IntegerField()


class DailyMetricsOutput(serializers.Serializer):
    date = serializers.DateField()
    members = serializers.IntegerField(help_text="Active memberships at the day's end (UTC).")
    joins = serializers.IntegerField()
    leaves = serializers.IntegerField()
    fans = serializers.IntegerField(
        help_text="Follows of the merchant's accounts, from that day's snapshots."
    )
    iron_fans = serializers.IntegerField()
    iron_fan_ratio = serializers.FloatField(help_text="iron_fans / fans, 4 decimals; 0 without fans.")
    buyers_90d = serializers.IntegerField(help_text="Distinct buyers in the 90 days ending with the day.")
    repeat_buyers_90d = serializers.IntegerField(help_text="Of those, the buyers with two or more orders.")
    repurchase_rate = serializers.FloatField(help_text="repeat_buyers_90d / buyers_90d, 4 decimals.")
    orders = serializers.IntegerField(help_text="Orders paid during the day.")
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Their totals.")
    coupons_issued = serializers.IntegerField()
    coupons_redeemed = serializers.IntegerField()
    coupons_expired = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    points_spent = serializers.IntegerField()
    points_expired = serializers.IntegerField()
    points_outstanding = serializers.IntegerField(help_text="The liability at the day's end.")
    points_expiring_30d = serializers.IntegerField(
        help_text="Unspent points expiring within 30 days after it."
    )
    tiers = TierCountOutput(many=True, source="tier_counts")
    coupons = CouponCountOutput(many=True, source="coupon_counts")


class MerchantMetricsApi(MerchantApi):
    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=90)

    @api_operation(
        summary="Daily merchant metrics",
        description="The merchant's daily metrics of the last `days` days (today included, UTC), "
        "oldest first: members, joins and leaves, members per tier, fans and iron fans, the "
        "repurchase rate, orders and revenue, coupons issued, redeemed and expired (in total and "
        "per template, source and campaign), and points earned, spent, expired, outstanding and "
        "expiring within 30 days. A day appears once the nightly job (or `daily_metrics backfill`) "
        "has computed it. `days` outside 1..400 is a 400 on `days`. Reads only.",
        filters=FilterSerializer,
        responses=DailyMetricsOutput(many=True),
        tags=["merchant"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        rows = selectors.metrics_daily(
            merchant=self.merchant, days=filters["days"], today=timezone.now().astimezone(UTC).date()
        )

        def complete(page):
            tiers, coupons = selectors.metrics_breakdowns(
                merchant=self.merchant, dates=[row.date for row in page]
            )
            for row in page:
                row.tier_counts = tiers.get(row.date, [])
                row.coupon_counts = coupons.get(row.date, [])

        return paginated_response(self, request, rows, DailyMetricsOutput, ordering="date", complete=complete)
