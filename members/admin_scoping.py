"""Tenant scoping for the Django admin, one mixin for every app's ModelAdmin.

The rule, for a user who is staff of a merchant (``MerchantStaff``) and not a
superuser:

- **Merchant-owned models** (their manager has ``for_merchant``): the user lists,
  views, adds, changes and deletes only their merchant's rows. Foreign-key choices
  are limited the same way; a foreign key to ``Merchant`` is fixed to the user's
  merchant (shown, not editable), so the add form never offers another merchant.
- **Shared models reached through a relation** (``Shopper``): read-only, and only
  the shoppers who joined or follow the merchant (``Shopper.objects.for_merchant``).
  A shopper's profile is theirs, not one merchant's to edit.
- **Everything else** (users, groups, schedules, tokens, categories): superusers
  only. Merchant staff hold no Django model permissions, so the admin shows them
  none of it.

A superuser sees and edits everything. A staff user linked to no merchant sees no
merchant-owned rows.
"""

from django.contrib import admin
from django.http import Http404

from members.models import Merchant


def staff_merchant(request) -> Merchant | None:
    """The merchant whose staff the request's user is, cached on the request."""
    if not hasattr(request, "_staff_merchant"):
        user = request.user
        link = getattr(user, "merchant_staff", None) if user.is_authenticated else None
        request._staff_merchant = link.merchant if link is not None and user.is_staff else None
    return request._staff_merchant


def is_scoped(request) -> bool:
    return not request.user.is_superuser


def has_merchant_scope(model) -> bool:
    return hasattr(model._default_manager.get_queryset(), "for_merchant")


def scope(queryset, request):
    if not is_scoped(request):
        return queryset
    merchant = staff_merchant(request)
    if merchant is None:
        return queryset.none()
    return queryset.for_merchant(merchant)


class MerchantScopedMixin:
    """Shared by ModelAdmin and inlines: scoped rows and scoped choices."""

    # False for shared models that staff may look at but not edit (``Shopper``).
    staff_can_edit = True

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request)

    def get_object(self, request, object_id, from_field=None):
        # Another merchant's row is "not found" (404) on the change, delete and history
        # views, never the admin's redirect with a message. (ModelAdmin only; inlines
        # have no object views.)
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if is_scoped(request) and has_merchant_scope(related):
            merchant = staff_merchant(request)
            kwargs["queryset"] = scope(related._default_manager.get_queryset(), request)
            if related is Merchant:
                kwargs["initial"] = merchant
                kwargs["disabled"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if is_scoped(request) and has_merchant_scope(related):
            kwargs["queryset"] = scope(related._default_manager.get_queryset(), request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # Merchant staff get their rights from the MerchantStaff link, not from Django's
    # per-model permissions; everyone else goes through Django's permissions.

    def _staff_may(self, request, obj=None, *, write: bool) -> bool | None:
        if not is_scoped(request):
            return None
        merchant = staff_merchant(request)
        if merchant is None:
            return False
        if write and not self.staff_can_edit:
            return False
        return obj is None or self._reaches(request, obj)

    def _reaches(self, request, obj) -> bool:
        """Is ``obj`` the staff's merchant's? An inline is asked about its *parent* row."""
        model = type(obj)
        if model is self.model:
            return self.get_queryset(request).filter(pk=obj.pk).exists()
        if not has_merchant_scope(model):
            return False
        return scope(model._default_manager.get_queryset(), request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        allowed = self._staff_may(request, write=False)
        return super().has_module_permission(request) if allowed is None else allowed

    def has_view_permission(self, request, obj=None):
        allowed = self._staff_may(request, obj, write=False)
        return super().has_view_permission(request, obj) if allowed is None else allowed

    def has_add_permission(self, request, *args):
        allowed = self._staff_may(request, write=True)
        if allowed and self.model is Merchant:
            return False  # a merchant is created by onboarding, not by its staff
        return super().has_add_permission(request, *args) if allowed is None else allowed

    def has_change_permission(self, request, obj=None):
        allowed = self._staff_may(request, obj, write=True)
        return super().has_change_permission(request, obj) if allowed is None else allowed

    def has_delete_permission(self, request, obj=None):
        allowed = self._staff_may(request, obj, write=True)
        if allowed and self.model is Merchant:
            return False
        return super().has_delete_permission(request, obj) if allowed is None else allowed


class MerchantScopedAdmin(MerchantScopedMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over a large table on every page


class MerchantScopedTabularInline(MerchantScopedMixin, admin.TabularInline):
    extra = 0
