"""Admin of iron fans: the KOE leaderboard (accounts by iron-fan ratio), the fan
policy, and the engagement events (read-only). Registered from members/admin.py."""

from django.contrib import admin
from django.db.models import F, FloatField, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from members.admin_scoping import MerchantScopedAdmin, scope
from members.engagement.models import AccountDailyStat, EngagementEvent, FanPolicy, iron_fan_ratio
from members.models import Account


class AccountFansMixin:
    """Fans, iron fans and ratio columns for an account changelist, sortable."""

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            # The counts kept as follows change (members.fan_counts): an account without a
            # follow yet has no row.
            .annotate(
                fans_count=Coalesce(F("fan_count__fans"), Value(0)),
                iron_fans_count=Coalesce(F("fan_count__iron_fans"), Value(0)),
            )
            .annotate(
                ratio=Coalesce(
                    Cast(F("iron_fans_count"), FloatField())
                    / NullIf(Cast(F("fans_count"), FloatField()), Value(0.0)),
                    Value(0.0),
                )
            )
        )

    @admin.display(description="fans", ordering="fans_count")
    def fans(self, obj) -> int:
        return obj.fans_count

    @admin.display(description="iron fans", ordering="iron_fans_count")
    def iron_fans(self, obj) -> int:
        return obj.iron_fans_count

    @admin.display(description="iron-fan ratio", ordering="ratio")
    def iron_fan_ratio(self, obj) -> str:
        return f"{iron_fan_ratio(fans=obj.fans_count, iron_fans=obj.iron_fans_count):.1%}"


@admin.register(FanPolicy)
class FanPolicyAdmin(MerchantScopedAdmin):
    list_display = [
        "merchant",
        "promote_at",
        "demote_below",
        "half_life_days",
        "min_active_days",
        "updated_at",
    ]
    list_select_related = ["merchant"]
    fieldsets = [
        (None, {"fields": ["merchant"]}),
        (
            "Weights (points per event; per minute for live watching)",
            {
                "fields": [
                    "weight_view",
                    "weight_like",
                    "weight_comment",
                    "weight_share",
                    "weight_live_watch",
                    "weight_purchase",
                ]
            },
        ),
        ("Promotion", {"fields": ["half_life_days", "promote_at", "demote_below", "min_active_days"]}),
    ]


class ScopedAccountFilter(admin.SimpleListFilter):
    """The staff's merchant's accounts, read from the accounts table: Django's
    RelatedOnlyFieldListFilter would scan every event for the distinct accounts."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request, model_admin):
        accounts = scope(Account.objects.all(), request).order_by("handle")
        return [(str(pk), f"@{handle}") for pk, handle in accounts.values_list("pk", "handle")]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(account_id=value) if value and value.isdigit() else queryset


@admin.register(EngagementEvent)
class EngagementEventAdmin(MerchantScopedAdmin):
    """Events are the platforms' record: nobody edits them, not even a superuser."""

    staff_can_edit = False
    list_display = ["occurred_at", "kind", "quantity", "account", "shopper", "sku", "source_id"]
    list_filter = [ScopedAccountFilter, "kind"]
    list_select_related = ["account", "shopper"]
    ordering = ["-id"]
    readonly_fields = ["account", "shopper", "kind", "quantity", "sku", "source_id", "occurred_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccountDailyStat)
class AccountDailyStatAdmin(MerchantScopedAdmin):
    """The daily snapshots, written by the jobs."""

    staff_can_edit = False
    list_display = ["date", "account", "fans", "iron_fans", "ratio", "promoted", "demoted"]
    list_filter = [("account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["account"]
    date_hierarchy = "date"
    ordering = ["-date", "account"]
    readonly_fields = ["account", "date", "fans", "iron_fans", "promoted", "demoted", "snapshot_at"]

    @admin.display(description="iron-fan ratio")
    def ratio(self, obj) -> str:
        return f"{obj.iron_fan_ratio:.1%}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
