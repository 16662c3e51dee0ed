"""Webhook endpoints and their delivery logs in the admin, scoped to the staff's merchant.

Endpoints are added and removed here as through the API; "rotate secret" and "enable"
are actions. Each endpoint links to its delivery log, whose "resend" action sends the
chosen deliveries again now (after the admin's transaction commits, via the outbox).
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from members.admin_scoping import MerchantScopedAdmin, staff_merchant
from members.webhooks import endpoints
from members.webhooks.addresses import url_check
from members.webhooks.delivery import webhook_resend
from members.webhooks.errors import WebhookUrlNotAllowed
from members.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["merchant", "url", "events"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_check(url)
        except WebhookUrlNotAllowed as refused:
            raise forms.ValidationError(str(refused.detail)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MerchantScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "merchant", "active", "disabled_reason", "created_at", "delivery_log"]
    list_filter = ["active"]
    list_select_related = ["merchant"]
    ordering = ["-id"]
    actions = ["rotate_secret", "enable"]

    def get_readonly_fields(self, request, obj=None):
        shown = ["active", "disabled_reason", "disabled_at", "failing_since", "previous_secret_expires_at"]
        return shown if obj is not None else []

    def get_fields(self, request, obj=None):
        fields = ["merchant", "url", "events"]
        return [*fields, *self.get_readonly_fields(request, obj)]

    @admin.display(description="deliveries")
    def delivery_log(self, endpoint):
        url = reverse("admin:members_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">delivery log</a>', url)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            endpoints.webhook_subscriptions_refresh(merchant_id=obj.merchant_id)
            return
        merchant = obj.merchant if obj.merchant_id else staff_merchant(request)
        made = endpoints.webhook_endpoint_create(merchant=merchant, url=obj.url, events=list(obj.events))
        obj.pk = made.pk
        obj.__dict__.update(made.__dict__)
        self.message_user(request, f"Signing secret (shown once): {made.secret}", messages.WARNING)

    def delete_model(self, request, obj):
        endpoints.webhook_endpoint_delete(merchant=obj.merchant, endpoint_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset.select_related("merchant"):
            endpoints.webhook_endpoint_delete(merchant=endpoint.merchant, endpoint_id=endpoint.pk)

    @admin.action(description="Rotate the signing secret (the old one signs for 24 hours more)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            endpoints.webhook_secret_rotate(endpoint=endpoint)
            self.message_user(
                request, f"{endpoint.url}: new secret (shown once): {endpoint.secret}", messages.WARNING
            )

    @admin.action(description="Enable again")
    def enable(self, request, queryset):
        for endpoint in queryset.filter(active=False):
            endpoints.webhook_endpoint_enable(endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MerchantScopedAdmin):
    """The delivery log: one row per event and endpoint, read-only; "resend" sends again."""

    list_display = ["event", "endpoint", "status", "attempts", "response_code", "error", "last_attempt_at"]
    list_filter = ["status", ("endpoint", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["event", "endpoint"]
    ordering = ["-id"]
    actions = ["resend"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Resend now")
    def resend(self, request, queryset):
        sent = webhook_resend(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{sent} deliveries will be sent again.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(MerchantScopedAdmin):
    list_display = ["created_at", "type", "event_id", "merchant"]
    list_filter = ["type"]
    list_select_related = ["merchant"]
    ordering = ["-id"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WebhookEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
