from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils import timezone

from core.errors import DomainError
from coupons.models import Coupon, CouponTemplate, ScheduledCoupon
from coupons.services.issuing import coupon_issue_to_shopper
from coupons.services.templates import coupon_template_terms_check
from members.admin import MembershipAdmin
from members.admin_scoping import MerchantScopedAdmin, scope
from members.models import Membership


class CouponTemplateForm(forms.ModelForm):
    """The admin's template form (its model and fields come from the ModelAdmin).

    The terms' rules are the service's (``coupon_template_terms_check``), so staff see
    the errors the API gives, on the same fields.
    """

    TERMS = ("kind", "value", "max_discount", "scope", "category", "products")
    WINDOW = ("valid_days", "valid_from", "valid_until")

    def clean(self):
        data = super().clean()
        if any(name in self.errors for name in (*self.TERMS, *self.WINDOW)):
            return data  # a field is already wrong: its own error says so
        new_window = self.instance.pk is None or "valid_until" in self.changed_data
        try:
            coupon_template_terms_check(
                **{name: data.get(name) for name in (*self.TERMS, *self.WINDOW)},
                now=timezone.now() if new_window else None,
            )
        except DomainError as exc:
            self.add_error(exc.attr, exc.detail)
        return data

    def clean_stock(self):
        # ``issued_count`` is not a form field, so the model's check of the stock against it
        # is skipped by form validation and would only fail at save, as a server error.
        stock = self.cleaned_data.get("stock")
        issued = self.instance.issued_count if self.instance.pk else 0
        if stock is not None and stock < issued:
            raise forms.ValidationError(f"{issued} have been issued already; the stock cannot be less.")
        return stock


@admin.register(CouponTemplate)
class CouponTemplateAdmin(MerchantScopedAdmin):
    form = CouponTemplateForm
    list_display = [
        "name",
        "kind",
        "value",
        "scope",
        "issued_count",
        "stock",
        "points_price",
        "active",
        "merchant",
    ]
    list_filter = ["kind", "scope", "active"]
    search_fields = ["name"]
    list_select_related = ["merchant"]
    readonly_fields = ["issued_count"]
    filter_horizontal = ["products"]


@admin.register(Coupon)
class CouponAdmin(MerchantScopedAdmin):
    """Coupons are issued by the services (with stock and limits); staff look them up
    by code and may void issued ones."""

    list_display = [
        "code",
        "template",
        "shopper",
        "state",
        "source",
        "issued_at",
        "expires_at",
        "redeemed_at",
    ]
    list_filter = ["state", "source"]
    search_fields = ["=code", "shopper__external_id"]
    list_select_related = ["template", "shopper"]
    readonly_fields = [f.name for f in Coupon._meta.fields if f.name != "id"]
    actions = ["void_coupons"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Void selected unused coupons")
    def void_coupons(self, request, queryset):
        voided = queryset.filter(state=Coupon.State.ISSUED).update(state=Coupon.State.VOID)
        self.message_user(request, f"Voided {voided} coupons; used or expired ones were left as they were.")


@admin.register(ScheduledCoupon)
class ScheduledCouponAdmin(MerchantScopedAdmin):
    staff_can_edit = False
    list_display = ["template", "shopper", "source", "due_at", "handled_at", "outcome"]
    list_filter = ["source", "outcome"]
    search_fields = ["shopper__external_id"]
    list_select_related = ["template", "shopper"]


class IssueCouponForm(forms.Form):
    template = forms.ModelChoiceField(queryset=CouponTemplate.objects.none())


admin.site.unregister(Membership)


@admin.register(Membership)
class MembershipWithCouponsAdmin(MembershipAdmin):
    """The members admin, with the coupons app's action to issue a coupon to members.

    Registered here rather than in ``members`` because members sits below coupons.
    """

    actions = ["issue_coupon"]

    @admin.action(description="Issue a coupon to the selected members")
    def issue_coupon(self, request, queryset):
        templates = scope(CouponTemplate.objects.filter(active=True), request)
        form = IssueCouponForm(request.POST if "apply" in request.POST else None)
        form.fields["template"].queryset = templates
        if "apply" in request.POST and form.is_valid():
            template = form.cleaned_data["template"]
            issued, refused = 0, {}
            for membership in queryset.filter(merchant=template.merchant).select_related("shopper"):
                try:
                    coupon_issue_to_shopper(template=template, shopper=membership.shopper)
                    issued += 1
                except DomainError as exc:
                    refused[exc.code] = refused.get(exc.code, 0) + 1
            detail = ", ".join(f"{n} {code}" for code, n in sorted(refused.items()))
            level = messages.WARNING if refused else messages.SUCCESS
            self.message_user(
                request,
                f"Issued {issued} coupons of {template}." + (f" Not issued: {detail}." if refused else ""),
                level,
            )
            return None
        return TemplateResponse(
            request,
            "admin/coupons/issue_coupon.html",
            {
                **self.admin_site.each_context(request),
                "title": "Issue a coupon",
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )
