from django.contrib import admin, messages

from core.errors import DomainError
from members.admin_scoping import MerchantScopedAdmin, MerchantScopedTabularInline
from storefront.models import (
    Category,
    Order,
    OrderLine,
    Product,
    PurchaseStat,
    PushRollout,
    Refund,
    RolloutPolicy,
)
from storefront.services.rollouts import rollout_advance_by_hand, rollout_hold_by_hand, stage_counts


@admin.register(Category)
class CategoryAdmin(MerchantScopedAdmin):
    """Each merchant's own; a product creates one by naming its slug, staff may rename it."""

    list_display = ["name", "slug", "merchant"]
    search_fields = ["slug", "name"]
    list_select_related = ["merchant"]


@admin.register(Product)
class ProductAdmin(MerchantScopedAdmin):
    list_display = ["sku", "title", "price", "category", "published_at", "merchant"]
    list_filter = [("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "title"]
    list_select_related = ["merchant", "category"]


class OrderLineInline(MerchantScopedTabularInline):
    model = OrderLine
    fields = ["product", "quantity", "unit_price", "refunded_quantity"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(MerchantScopedTabularInline):
    model = Refund
    fields = ["external_id", "amount", "refunded_lines", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="lines")
    def refunded_lines(self, refund: Refund) -> str:
        """ "1 x Velvet lipstick (LIP-01)": the titles of the order's own lines, not raw JSON."""
        # Inline instances are made per request: one query for the order's titles per page.
        cache = self.__dict__.setdefault("_titles", {})
        if refund.order_id not in cache:
            lines = OrderLine.objects.filter(order_id=refund.order_id)
            cache[refund.order_id] = dict(lines.values_list("product__sku", "product__title"))
        titles = cache[refund.order_id]
        return ", ".join(
            f"{line['quantity']} x {titles.get(line['sku'], line['sku'])} ({line['sku']})"
            for line in refund.lines
        )


@admin.register(Order)
class OrderAdmin(MerchantScopedAdmin):
    """Orders come from the shop system through the pipeline; the admin reads them."""

    staff_can_edit = False
    list_display = ["external_id", "shopper", "total", "points_earned", "status", "paid_at", "merchant"]
    list_filter = ["status"]
    search_fields = ["external_id", "shopper__external_id"]
    list_select_related = ["merchant", "shopper"]
    readonly_fields = [
        "merchant",
        "shopper",
        "external_id",
        "via_account",
        "subtotal",
        "discount",
        "total",
        "refunded_amount",
        "points_earned",
        "points_reversed",
        "status",
        "paid_at",
        "created_at",
    ]
    exclude = ["payload_hash", "response"]
    inlines = [OrderLineInline, RefundInline]
    date_hierarchy = "paid_at"

    def has_add_permission(self, request):
        return False


@admin.register(PurchaseStat)
class PurchaseStatAdmin(MerchantScopedAdmin):
    staff_can_edit = False
    list_display = ["shopper", "product", "times_purchased", "quantity", "last_purchased_at"]
    search_fields = ["shopper__external_id", "product__sku"]
    list_select_related = ["shopper", "product"]

    def has_add_permission(self, request):
        return False


@admin.register(RolloutPolicy)
class RolloutPolicyAdmin(MerchantScopedAdmin):
    list_display = ["merchant", "stage_hours", "open_rate_to_advance", "max_pushes_per_day"]


@admin.register(PushRollout)
class PushRolloutAdmin(MerchantScopedAdmin):
    """Rollouts start when a product is published; staff watch them and advance or hold by hand."""

    staff_can_edit = False
    list_display = ["product", "stage", "stage_started_at", "sent", "opened", "open_rate", "held_reason"]
    list_filter = ["stage"]
    search_fields = ["product__sku", "product__title"]
    list_select_related = ["product"]
    readonly_fields = [
        "product",
        "merchant",
        "stage",
        "stage_started_at",
        "stage_sent_at",
        "held_stage",
        "held_reason",
        "sent",
        "opened",
        "open_rate",
        "per_stage",
    ]
    actions = ["advance", "hold"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="open rate")
    def open_rate(self, rollout) -> str:
        return f"{rollout.opened / rollout.sent:.1%}" if rollout.sent else "-"

    @admin.display(description="sent / opened / deferred per stage")
    def per_stage(self, rollout) -> str:
        counts = stage_counts(rollout_ids=[rollout.pk]).get(rollout.pk, {})
        return (
            "; ".join(f"{stage}: {c.delivered} / {c.opened} / {c.deferred}" for stage, c in counts.items())
            or "-"
        )

    @admin.action(description="Advance to the next stage (whatever the open rate)")
    def advance(self, request, queryset):
        self._act(request, queryset, rollout_advance_by_hand, "advanced")

    @admin.action(description="Hold (stop pushing)")
    def hold(self, request, queryset):
        self._act(request, queryset, rollout_hold_by_hand, "held")

    def _act(self, request, queryset, service, verb: str) -> None:
        done, refused = 0, []
        for rollout in queryset.select_related("merchant", "product"):
            try:
                service(merchant=rollout.merchant, rollout_id=rollout.pk)
                done += 1
            except DomainError as exc:
                refused.append(f"{rollout.product.sku}: {exc.detail}")
        self.message_user(request, f"{verb.capitalize()} {done} rollouts.")
        if refused:
            self.message_user(request, "Not moved: " + "; ".join(refused), level=messages.WARNING)
