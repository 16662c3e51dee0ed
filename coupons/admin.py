from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core.errors import DomainError
from coupons.audiences import audience_size
from coupons.models import Campaign, CampaignRun, Coupon, CouponTemplate, ScheduledCoupon
from coupons.services.campaign_runs import campaign_run_cancel, campaign_run_request, campaign_run_resume
from coupons.services.campaigns import campaign_delete, campaign_schedule_sync, campaign_terms_check
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


class CampaignForm(forms.ModelForm):
    """The admin's campaign form: the audience and schedule rules are the API's."""

    def clean(self):
        data = super().clean()
        merchant = data.get("merchant") or getattr(self.instance, "merchant", None)
        if merchant is None or any(
            name in self.errors for name in ("audience", "schedule", "run_at", "timezone")
        ):
            return data
        try:
            campaign_terms_check(
                merchant=merchant,
                audience=data.get("audience"),
                schedule=data.get("schedule") or "",
                # A run_at that has passed may stay as it is; a new one must be ahead.
                run_at=data.get("run_at") if "run_at" in self.changed_data else None,
                timezone_name=data.get("timezone"),
            )
        except DomainError as exc:
            attr = (exc.attr or "audience").split(".")[0]
            self.add_error(attr if attr in self.fields else None, exc.detail)
        template = data.get("template")
        if template is not None and template.merchant_id != merchant.pk:
            self.add_error("template", "A coupon template of the campaign's merchant.")
        return data


@admin.register(Campaign)
class CampaignAdmin(MerchantScopedAdmin):
    """Campaigns, with their runs' progress and the dry-run and run-now buttons.

    Saving and deleting go through the campaign services, so beat's entry follows.
    """

    form = CampaignForm
    change_form_template = "admin/coupons/campaign_change_form.html"
    list_display = ["name", "template", "schedule_shown", "active", "last_run", "merchant"]
    list_filter = ["active"]
    search_fields = ["name"]
    list_select_related = ["template", "merchant"]
    fields = ["merchant", "name", "template", "audience", "schedule", "run_at", "timezone", "active", "runs"]
    readonly_fields = ["runs"]

    RUNS_SHOWN = 10

    def get_queryset(self, request):
        latest = CampaignRun.objects.filter(campaign=OuterRef("pk")).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_run_status=Subquery(latest.values("status")[:1]),
                last_run_issued=Subquery(latest.values("issued")[:1]),
                last_run_size=Subquery(latest.values("audience_size")[:1]),
                last_run_at=Subquery(latest.values("created_at")[:1]),
            )
        )

    @admin.display(description="schedule")
    def schedule_shown(self, campaign):
        if campaign.schedule:
            return f"{campaign.schedule} ({campaign.timezone})"
        return f"once at {campaign.run_at:%Y-%m-%d %H:%M}" if campaign.run_at else "run by hand"

    @admin.display(description="last run")
    def last_run(self, campaign):
        if campaign.last_run_status is None:
            return "never"
        return (
            f"{campaign.last_run_status}: {campaign.last_run_issued} of {campaign.last_run_size}, "
            f"{campaign.last_run_at:%Y-%m-%d %H:%M}"
        )

    @admin.display(description="runs")
    def runs(self, campaign):
        if campaign.pk is None:
            return "-"
        runs = list(campaign.runs.order_by("-id")[: self.RUNS_SHOWN])
        return render_to_string("admin/coupons/campaign_runs.html", {"runs": runs, "campaign": campaign})

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            campaign_schedule_sync(obj)

    def delete_model(self, request, obj):
        campaign_delete(campaign=obj)

    def delete_queryset(self, request, queryset):
        for campaign in queryset:
            campaign_delete(campaign=campaign)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/dry-run/", view(self.dry_run_view), name="coupons_campaign_dry_run"),
            path("<path:object_id>/run/", view(self.run_view), name="coupons_campaign_run"),
            path(
                "<path:object_id>/runs/<int:run_id>/progress/",
                view(self.progress_view),
                name="coupons_campaign_run_progress",
            ),
            path(
                "<path:object_id>/runs/<int:run_id>/resume/",
                view(self.resume_view),
                name="coupons_campaign_resume",
            ),
            path(
                "<path:object_id>/runs/<int:run_id>/cancel/",
                view(self.cancel_view),
                name="coupons_campaign_cancel",
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id, *, write: bool) -> Campaign:
        if request.method != "POST":
            raise PermissionDenied("POST only.")
        campaign = self.get_object(request, object_id)  # another merchant's: 404
        allowed = (
            self.has_change_permission(request, campaign)
            if write
            else self.has_view_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def _back(self, campaign):
        return redirect(reverse("admin:coupons_campaign_change", args=[campaign.pk]))

    def dry_run_view(self, request, object_id):
        campaign = self._campaign(request, object_id, write=False)
        try:
            size = audience_size(merchant=campaign.merchant, audience=campaign.audience)
            self.message_user(
                request, f"Dry run: the audience holds {size} shoppers now. Nothing was issued."
            )
        except DomainError as exc:
            self.message_user(request, f"The audience is not valid: {exc.detail}", messages.ERROR)
        return self._back(campaign)

    def run_view(self, request, object_id):
        campaign = self._campaign(request, object_id, write=True)
        try:
            run = campaign_run_request(campaign=campaign)
            self.message_user(
                request, f"Run {run.pk} queued; the workers issue it in chunks.", messages.SUCCESS
            )
        except DomainError as exc:
            self.message_user(request, f"Not run: {exc.detail}", messages.ERROR)
        return self._back(campaign)

    def _run(self, campaign, run_id) -> CampaignRun:
        run = CampaignRun.objects.filter(campaign=campaign, pk=run_id).first()
        if run is None:
            raise Http404("No such run.")
        return run

    def resume_view(self, request, object_id, run_id):
        campaign = self._campaign(request, object_id, write=True)
        run = self._run(campaign, run_id)
        try:
            campaign_run_resume(run=run)
            self.message_user(request, f"Run {run.pk} resumed.", messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, f"Not resumed: {exc.detail}", messages.ERROR)
        return self._back(campaign)

    def cancel_view(self, request, object_id, run_id):
        campaign = self._campaign(request, object_id, write=True)
        run = self._run(campaign, run_id)
        try:
            campaign_run_cancel(run=run)
            self.message_user(
                request, f"Run {run.pk} cancelled; the coupons it issued stay.", messages.SUCCESS
            )
        except DomainError as exc:
            self.message_user(request, f"Not cancelled: {exc.detail}", messages.ERROR)
        return self._back(campaign)

    def progress_view(self, request, object_id, run_id):
        """A run's progress as JSON, polled by the campaign page's progress bars (GET)."""
        campaign = self.get_object(request, object_id)  # another merchant's: 404
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        run = CampaignRun.objects.filter(campaign=campaign, pk=run_id).first()
        if run is None:
            raise Http404("No such run.")
        return JsonResponse(run_progress(run))


def run_progress(run: CampaignRun) -> dict:
    """What a progress bar shows: chunks done of the planned ones (100 once the run is done)."""
    if run.status == CampaignRun.Status.DONE:
        percent = 100
    elif run.chunks_total:
        percent = min(99, 100 * run.chunks_done // run.chunks_total)
    else:
        percent = 0
    return {
        "id": run.pk,
        "status": run.status,
        "audience_size": run.audience_size,
        "issued": run.issued,
        "skipped": run.skipped,
        "chunks_done": run.chunks_done,
        "chunks_total": run.chunks_total,
        "percent": percent,
        "finished": run.status not in (CampaignRun.Status.QUEUED, CampaignRun.Status.RUNNING),
    }
