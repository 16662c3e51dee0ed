from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from members.admin_scoping import (
    MerchantScopedAdmin,
    MerchantScopedMixin,
    MerchantScopedTabularInline,
)
from members.engagement.admin import AccountFansMixin  # also registers the engagement admins
from members.models import Account, Follow, Membership, Merchant, MerchantAPIKey, MerchantStaff, Shopper, Tier
from members.services import account_delete, follow_delete, shopper_delete
from members.webhooks import admin as webhooks_admin  # noqa: F401 (registers the webhook admins)

# The library's own key model has no merchant; Fanbase uses MerchantAPIKey only.
admin.site.unregister(APIKey)


class AccountInlineFormSet(BaseInlineFormSet):
    def delete_existing(self, obj, commit=True):
        # The formset's one place where a ticked row is deleted: through the service,
        # which keeps its iron fans' membership flags (members.iron_fan_flags).
        if commit:
            account_delete(account=obj)


class AccountInline(MerchantScopedTabularInline):
    model = Account
    formset = AccountInlineFormSet
    fields = ["handle", "kind", "display_name", "staff"]


class TierInline(MerchantScopedTabularInline):
    model = Tier
    fields = ["rank", "name", "min_spend_12m", "earn_multiplier"]


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [AccountInline, TierInline]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj is not None and not request.user.is_superuser else []


@admin.register(MerchantStaff)
class MerchantStaffAdmin(MerchantScopedAdmin):
    list_display = ["user", "merchant"]
    search_fields = ["user__username"]
    list_select_related = ["user", "merchant"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            # Staff may re-link only their own merchant's users; creating logins is a superuser's job.
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = get_user_model().objects.filter(
                merchant_staff__in=self.get_queryset(request)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(MerchantAPIKey)
class MerchantAPIKeyAdmin(MerchantScopedMixin, APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "merchant"]
    list_filter = [*APIKeyModelAdmin.list_filter]
    list_select_related = ["merchant"]
    show_full_result_count = False


@admin.register(Shopper)
class ShopperAdmin(MerchantScopedAdmin):
    staff_can_edit = False
    list_display = ["external_id", "display_name", "created_at"]
    search_fields = ["external_id", "display_name"]
    # The autocomplete of shoppers (memberships, follows) pages: it needs a stable order.
    ordering = ["external_id"]
    readonly_fields = ["user"]

    # A superuser's deletion goes through shopper_delete (the accounts' fan counts), one
    # shopper per transaction.
    def delete_model(self, request, obj):
        shopper_delete(shopper=obj)

    def delete_queryset(self, request, queryset):
        for shopper in queryset.order_by("pk"):
            shopper_delete(shopper=shopper)


@admin.register(Account)
class AccountAdmin(AccountFansMixin, MerchantScopedAdmin):
    # Sorted by iron-fan ratio, the list is the KOE leaderboard.
    list_display = ["handle", "kind", "display_name", "merchant", "fans", "iron_fans", "iron_fan_ratio"]
    list_filter = ["kind"]
    search_fields = ["handle", "display_name"]
    list_select_related = ["merchant"]

    # An account goes through account_delete (its iron fans' membership flags), from the
    # delete view and from the change list's bulk delete, one account per transaction.
    def delete_model(self, request, obj):
        account_delete(account=obj)

    def delete_queryset(self, request, queryset):
        for account in queryset.order_by("pk"):
            account_delete(account=account)


@admin.register(Follow)
class FollowAdmin(MerchantScopedAdmin):
    # Fans follow by themselves; staff read the list, the scoring jobs write it.
    staff_can_edit = False
    list_display = ["shopper", "account", "iron_fan", "score", "created_at"]
    list_filter = ["iron_fan", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["shopper__external_id", "account__handle"]
    list_select_related = ["shopper", "account"]
    autocomplete_fields = ["shopper"]
    readonly_fields = ["score", "score_at", "iron_fan", "iron_fan_since"]

    def has_add_permission(self, request):
        # Not even a superuser's: a follow is the shopper's (POST .../follows), and its
        # score, flags and fan counts start with it (members.services.follow_create).
        return False

    # A superuser's deletion is an unfollow (the score waits, the flags and counts move).
    def delete_model(self, request, obj):
        follow_delete(shopper=obj.shopper, handle=obj.account.handle)

    def delete_queryset(self, request, queryset):
        for follow in queryset.select_related("shopper", "account").order_by("pk"):
            follow_delete(shopper=follow.shopper, handle=follow.account.handle)


@admin.register(Tier)
class TierAdmin(MerchantScopedAdmin):
    list_display = ["name", "rank", "min_spend_12m", "earn_multiplier", "merchant"]
    list_select_related = ["merchant"]


@admin.register(Membership)
class MembershipAdmin(MerchantScopedAdmin):
    list_display = ["number", "shopper", "merchant", "tier", "tier_since", "status", "joined_at"]
    ordering = ["-id"]
    list_filter = ["status", ("tier", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["shopper__external_id", "=number"]
    list_select_related = ["shopper", "merchant", "tier"]
    autocomplete_fields = ["shopper"]
    # The tier moves by orders, the nightly review, or a manual tier change (the loyalty
    # admin's "Tier changes"), each recorded as history: never by editing it here.
    readonly_fields = ["number", "tier", "tier_since", "joined_at", "left_at"]

    def has_add_permission(self, request):
        # A membership starts with the shopper joining (it numbers the card and,
        # with the ledger, pays the join bonus); the admin edits existing ones only.
        return False
