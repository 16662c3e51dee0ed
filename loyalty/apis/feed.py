"""The home-page feed: new products of followed merchants, ranked, with a usable coupon."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.api import moment_text, money_text, validated
from core.schema import api_operation
from coupons.apis import CouponOutput
from coupons.apis.coupons import coupon_answer
from loyalty import selectors
from loyalty.apis.memberships import MerchantRefOutput
from members.authentication import ShopperApi
from storefront import errors, feed
from storefront import selectors as storefront_selectors


class FeedProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField())
    published_at = serializers.DateTimeField()


class FeedItemOutput(serializers.Serializer):
    product = FeedProductOutput(source="*")
    merchant = MerchantRefOutput()
    reason = serializers.ChoiceField(
        choices=["followed", "member"],
        help_text="member: the shopper holds the merchant's membership; followed: follows its accounts.",
    )
    coupon = CouponOutput(
        allow_null=True, help_text="A usable coupon of the merchant that covers this product."
    )


def feed_item_answer(item: feed.FeedItem, coupon: dict | None, *, tz) -> dict:
    """What ``FeedItemOutput`` makes of a feed item, built directly (``coupon``: its
    ``coupon_answer``; times in ``tz``). tests/loyalty/test_feed_api.py checks the two agree."""
    return {
        "product": {
            "sku": item.sku,
            "title": item.title,
            "price": money_text(item.price),
            "category": item.category_slug,
            "tags": [None if tag is None else str(tag) for tag in item.tags],
            "published_at": moment_text(item.published_at, tz),
        },
        "merchant": {"slug": item.merchant_slug, "name": item.merchant_name},
        "reason": item.reason,
        "coupon": coupon,
    }


class FeedApi(ShopperApi):
    class FilterSerializer(serializers.Serializer):
        cursor = serializers.CharField(required=False, max_length=4000)

    @api_operation(
        summary="My home-page feed",
        description="New products of the merchants the shopper follows or is a member of, ranked by "
        "recency and preference match (docs/fans-first.md). Follow `next`. Reads only.",
        filters=FilterSerializer,
        errors=[errors.InvalidCursor.on("cursor")],
        responses=inline_serializer(
            "FeedPage",
            {"next": serializers.URLField(allow_null=True), "results": FeedItemOutput(many=True)},
        ),
        tags=["shopper"],
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request, data=request.query_params)
        now = timezone.now()
        if "cursor" in filters:
            view = feed.cursor_decode(filters["cursor"])
        else:
            preferences = storefront_selectors.preferences_top(
                shopper=self.shopper, now=now, limit=feed.PREFERENCES
            )
            view = feed.first_view(now=now, window_days=settings.FEED_WINDOW_DAYS, preferences=preferences)
        rows = storefront_selectors.feed_page(shopper=self.shopper, view=view, size=feed.PAGE_SIZE)
        page = rows[: feed.PAGE_SIZE]
        selectors.feed_details(shopper=self.shopper, products=page, now=now)
        next_url = None
        if len(rows) > feed.PAGE_SIZE:
            last = page[-1]
            cursor = feed.cursor_encode(view, rank=last.rank, item_id=last.pk)
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor)
        # The answer of FeedItemOutput (the schema's), built directly; a coupon shown beside
        # several products is built once.
        tz = timezone.get_current_timezone()
        coupons: dict[int, dict] = {}
        results = []
        for item in page:
            coupon = item.coupon
            if coupon is not None and coupon.id not in coupons:
                coupons[coupon.id] = coupon_answer(coupon, now=now, tz=tz)
            answer = coupons[coupon.id] if coupon is not None else None
            results.append(feed_item_answer(item, answer, tz=tz))
        return Response({"next": next_url, "results": results})
