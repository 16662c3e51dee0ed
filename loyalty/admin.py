from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from loyalty.errors import InsufficientPoints
from loyalty.models import PointsAccount, PointsEntry, Program, TierChange, TierReward
from loyalty.services.points import points_adjust
from loyalty.services.tiers import tier_change_manual
from members.admin_scoping import MerchantScopedAdmin, MerchantScopedTabularInline


@admin.register(Program)
class ProgramAdmin(MerchantScopedAdmin):
    list_display = ["merchant", "points_per_unit", "points_expiry_days", "join_bonus_points"]


class PointsEntryInline(MerchantScopedTabularInline):
    """The ledger, read-only: corrections are new entries (an adjustment), never edits."""

    model = PointsEntry
    fk_name = "account"
    fields = ["created_at", "kind", "delta", "remaining", "expires_at", "reason", "order", "created_by"]
    readonly_fields = fields
    ordering = ["-id"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PointsAccount)
class PointsAccountAdmin(MerchantScopedAdmin):
    staff_can_edit = False
    list_display = ["membership", "balance", "lifetime_earned", "updated_at"]
    ordering = ["-id"]
    search_fields = ["membership__shopper__external_id", "=membership__number"]
    list_select_related = ["membership__shopper", "membership__merchant"]
    readonly_fields = ["membership", "balance", "lifetime_earned", "join_bonus_at"]
    inlines = [PointsEntryInline]

    def has_add_permission(self, request):
        return False


class PointsAdjustmentForm(forms.ModelForm):
    class Meta:
        model = PointsEntry
        fields = ["account", "delta", "reason"]
        help_texts = {"delta": "Points to add (positive) or take away (negative)."}

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why: the reason is kept in the member's ledger.")
        return reason

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("An adjustment moves at least one point.")
        return delta

    def clean(self):
        cleaned = super().clean()
        account, delta = cleaned.get("account"), cleaned.get("delta")
        if account is not None and delta is not None and delta < 0 and account.balance + delta < 0:
            raise forms.ValidationError(f"The balance is {account.balance}; it cannot go below zero.")
        return cleaned


@admin.register(PointsEntry)
class PointsEntryAdmin(MerchantScopedAdmin):
    """The ledger. "Add" is how staff adjust points: an audited entry, with a reason."""

    list_display = ["created_at", "account", "kind", "delta", "reason", "created_by"]
    list_filter = ["kind"]
    search_fields = ["account__membership__shopper__external_id", "reason"]
    list_select_related = ["account__membership__shopper", "account__membership__merchant", "created_by"]
    autocomplete_fields = ["account"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PointsAdjustmentForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in PointsEntry._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        # The form checks the balance; a spend between that check and the locked
        # adjustment is caught here, after the admin's transaction rolled back.
        try:
            return super().add_view(request, form_url, extra_context)
        except InsufficientPoints as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        entry = points_adjust(
            account=obj.account, delta=obj.delta, reason=obj.reason, created_by=request.user
        )
        obj.pk = entry.pk
        obj.__dict__.update(entry.__dict__)


class TierChangeForm(forms.ModelForm):
    class Meta:
        model = TierChange
        fields = ["membership", "to_tier", "note"]
        labels = {"to_tier": "Move to tier"}
        help_texts = {"to_tier": "Empty: out of the tiers.", "note": "Why: kept in the member's history."}

    def clean(self):
        cleaned = super().clean()
        membership, tier = cleaned.get("membership"), cleaned.get("to_tier")
        if membership is not None and tier is not None and tier.merchant_id != membership.merchant_id:
            raise forms.ValidationError("That tier is another merchant's.")
        if membership is not None and membership.tier_id == (tier.pk if tier else None):
            raise forms.ValidationError("The member is in that tier already.")
        return cleaned


@admin.register(TierChange)
class TierChangeAdmin(MerchantScopedAdmin):
    """The tier history (upgrades, nightly reviews, manual moves). "Add" is how staff move a
    member to another tier by hand: a ``manual`` change, with who and why."""

    list_display = ["at", "membership", "from_tier", "to_tier", "reason", "coupon", "created_by"]
    list_filter = ["reason"]
    search_fields = ["membership__shopper__external_id", "=membership__number"]
    list_select_related = [
        "membership__shopper",
        "membership__merchant",
        "from_tier",
        "to_tier",
        "coupon",
        "created_by",
    ]
    autocomplete_fields = ["membership"]
    ordering = ["-at", "-id"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TierChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in TierChange._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        made = tier_change_manual(
            membership=obj.membership, to_tier=obj.to_tier, by=request.user, note=obj.note
        )
        if made is not None:
            obj.pk = made.pk
            obj.__dict__.update(made.__dict__)


@admin.register(TierReward)
class TierRewardAdmin(MerchantScopedAdmin):
    """A tier's upgrade reward: a coupon of the template, issued on reaching the tier
    (once a year at most per member)."""

    list_display = ["tier", "template"]
    list_select_related = ["tier__merchant", "template"]
