from django.contrib import admin

from members.admin_scoping import MerchantScopedAdmin, MerchantScopedTabularInline
from storefront.models import Category, Order, OrderLine, Product, PurchaseStat, Refund


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
