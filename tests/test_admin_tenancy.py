"""Tenant scoping of every ModelAdmin, walked from the admin registry.

Admins registered later (storefront, coupons, ...) are covered without editing this
file. Their models need a factory in ``tests/<app>/factories.py`` and, when scoped by a
custom ``for_merchant``, a builder in that module's ``MERCHANT_OBJECT_BUILDERS`` (see
tests/factories.py); a missing one fails here with a message that says so.

The rule under test is the one written in members/admin_scoping.py: staff of merchant A
see and edit A's rows only; another merchant's row is "not found" (404) on every object
view; foreign-key choices never offer another merchant's rows; models that belong to no
merchant are for superusers only.
"""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.forms import ModelChoiceField
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from members.admin_scoping import has_merchant_scope
from members.models import Account, Merchant, MerchantStaff
from tests.conftest import staff_client
from tests.factories import object_of_merchant
from tests.members.factories import MerchantFactory, MerchantStaffFactory, UserFactory


def _label(model) -> str:
    return model._meta.label


SCOPED_MODELS = sorted((m for m in admin.site._registry if has_merchant_scope(m)), key=_label)
UNSCOPED_MODELS = sorted((m for m in admin.site._registry if not has_merchant_scope(m)), key=_label)
READ_ONLY_FOR_STAFF = [
    m for m in SCOPED_MODELS if not getattr(admin.site._registry[m], "staff_can_edit", True)
]
AUTOCOMPLETE_FIELDS = [
    (model, name) for model in SCOPED_MODELS for name in admin.site._registry[model].autocomplete_fields
]


def make(model, merchant):
    """One row of ``model`` belonging to ``merchant``; a clear failure if the tests can't make one."""
    try:
        return object_of_merchant(model, merchant)
    except LookupError as exc:
        pytest.fail(str(exc))


def url(model, view: str, obj=None) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
    return reverse(name, args=[] if obj is None else [quote(obj.pk)])


def snapshot(obj) -> dict:
    """The row as stored now."""
    stored = type(obj)._base_manager.get(pk=obj.pk)
    return {field.attname: getattr(stored, field.attname) for field in stored._meta.concrete_fields}


def tampered_form_data(obj, *, merchant) -> dict:
    """A plausible change form for ``obj`` with every value altered and its merchant moved."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if name == "merchant":
            value = merchant.pk
        elif isinstance(value, bool):
            value = not value
        elif isinstance(value, str):
            value = f"{value}x"
        elif value is None:
            value = ""
        elif hasattr(value, "pk"):
            value = value.pk
        elif isinstance(value, list):
            value = [getattr(item, "pk", item) for item in value]
        data[name] = value
    return data


def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


class Tenant:
    """One merchant's rows, made on demand: one per scoped model asked about.

    Rows are made lazily so that a page's choices can be checked against every model
    its fields point to without building every app's models for every test.
    """

    def __init__(self, merchant, *models):
        self.merchant = merchant
        self.rows: dict = {}
        for model in models:
            self.row(model)

    def row(self, model):
        if model not in self.rows:
            self.rows[model] = make(model, self.merchant)
        return self.rows[model]

    def pks(self, model) -> set:
        """Pks of ``model`` that are this merchant's.

        For a scoped model, all its rows (one is made first). A login belongs to no
        merchant's table but is private all the same: the ones this tenant's rows point
        to (its staff's) are its own. Other unscoped models are shared (a category).
        """
        if has_merchant_scope(model):
            self.row(model)
            return set(model._default_manager.for_merchant(self.merchant).values_list("pk", flat=True))
        if model is not get_user_model():
            return set()
        return {
            target.pk
            for row in self.rows.values()
            for field in row._meta.concrete_fields
            if field.is_relation
            and field.related_model is model
            and (target := getattr(row, field.name)) is not None
        }


def form_choice_fields(response):
    """(name, field) of every relation the page's form and inline forms let the user choose.

    Not an inline form's hidden primary-key field: Django gives it the model's whole
    table, but it offers no choice, and rows outside the formset are ignored on save
    (``test_inline_post_naming_another_merchants_row_changes_nothing`` proves it).
    """
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets") or []:
        forms.extend(inline.formset.forms)
        forms.append(inline.formset.empty_form)
    for form in forms:
        pk_name = form._meta.model._meta.pk.name
        for name, field in form.fields.items():
            if name == pk_name and field.widget.is_hidden:
                continue
            if isinstance(field, ModelChoiceField):  # ModelMultipleChoiceField is a subclass
                yield f"{type(form).__name__}.{name}", field


def assert_choices_stay_in_tenant(response, own: Tenant, other: Tenant) -> int:
    checked = 0
    for name, field in form_choice_fields(response):
        related = field.queryset.model
        owns, others_only = own.pks(related), other.pks(related) - own.pks(related)  # rows made first
        offered = set(field.queryset.values_list("pk", flat=True))
        assert not offered & others_only, f"{name} offers another merchant's {_label(related)}"
        assert offered & owns or not owns, f"{name} offers none of the merchant's own rows"
        checked += 1
    return checked


# --- The registry itself ---------------------------------------------------------


def test_the_registry_walk_finds_the_members_admins():
    # Guards the walk: if the registry were read before admin autodiscovery, every
    # test below would be parametrized over nothing and pass vacuously.
    labels = {_label(m) for m in SCOPED_MODELS}
    assert {"members.Merchant", "members.Account", "members.Follow", "members.Shopper"} <= labels
    assert {"auth.User", "knox.AuthToken"} <= {_label(m) for m in UNSCOPED_MODELS}
    assert AUTOCOMPLETE_FIELDS
    assert {"members.Shopper", "members.Follow"} <= {_label(m) for m in READ_ONLY_FOR_STAFF}


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_tests_can_make_a_row_of_each_merchant_for_every_scoped_admin(db, model):
    a, b = MerchantFactory(), MerchantFactory()

    row = make(model, b)

    assert model._default_manager.for_merchant(b).filter(pk=row.pk).exists()
    assert not model._default_manager.for_merchant(a).filter(pk=row.pk).exists()


# --- Staff of merchant A and merchant B's rows -------------------------------------


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_list_their_merchants_rows_and_never_another_merchants(db, model):
    a, b = MerchantFactory(), MerchantFactory()
    own, other = make(model, a), make(model, b)

    response = staff_client(a).get(url(model, "changelist"))

    assert response.status_code == 200
    changelist = response.context["cl"]
    listed = {row.pk for row in changelist.result_list}
    assert own.pk in listed
    assert other.pk not in listed
    assert not changelist.queryset.filter(pk=other.pk).exists()


@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_get_404_on_another_merchants_object(db, model, view):
    a, b = MerchantFactory(), MerchantFactory()
    other = make(model, b)

    response = staff_client(a).get(url(model, view, other))

    assert response.status_code == 404


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_post_to_another_merchants_change_view_changes_nothing(db, model):
    a, b = MerchantFactory(), MerchantFactory()
    other = make(model, b)
    before = snapshot(other)

    response = staff_client(a).post(url(model, "change", other), tampered_form_data(other, merchant=a))

    assert response.status_code == 404
    assert snapshot(other) == before


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_post_to_another_merchants_delete_view_deletes_nothing(db, model):
    a, b = MerchantFactory(), MerchantFactory()
    other = make(model, b)

    response = staff_client(a).post(url(model, "delete", other), {"post": "yes"})

    assert response.status_code == 404
    assert model._base_manager.filter(pk=other.pk).exists()


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_bulk_delete_action_skips_another_merchants_rows(db, model):
    a, b = MerchantFactory(), MerchantFactory()
    other = make(model, b)
    client = staff_client(a)

    # when: the changelist's delete action is posted with B's primary key
    response = client.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )

    assert response.status_code in {200, 302, 403}
    assert model._base_manager.filter(pk=other.pk).exists()


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_open_their_own_merchants_object(db, model):
    # Positive control for the 404s above: the views work for the staff's own rows.
    a = MerchantFactory()
    own = make(model, a)
    client = staff_client(a)

    assert client.get(url(model, "change", own)).status_code == 200
    assert client.get(url(model, "history", own)).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY_FOR_STAFF, ids=_label)
def test_staff_may_look_at_but_not_change_shared_or_job_written_rows(db, model):
    # Shoppers are theirs, not one merchant's; fan scores are written by the jobs.
    a = MerchantFactory()
    own = make(model, a)
    before = snapshot(own)
    client = staff_client(a)

    assert client.get(url(model, "change", own)).status_code == 200
    assert client.post(url(model, "change", own), tampered_form_data(own, merchant=a)).status_code == 403
    assert client.post(url(model, "delete", own), {"post": "yes"}).status_code == 403
    assert client.get(url(model, "add")).status_code == 403
    assert snapshot(own) == before


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_forms_for_staff_offer_no_foreign_key_choice_of_another_merchant(db, model):
    # given: both merchants have a row of the model (and, as the check below asks for
    # them, of every scoped model a field points to), so every choice has something of
    # B's it could wrongly offer
    own, other = Tenant(MerchantFactory(), model), Tenant(MerchantFactory(), model)
    client = staff_client(own.merchant)
    own_row = own.row(model)

    # when: staff of A open the add form (where adding is allowed) and their own row's form
    add = client.get(url(model, "add"))
    change = client.get(url(model, "change", own_row))

    # then: no model-choice field, inlines included, offers B's rows
    assert add.status_code in {200, 403}
    if add.status_code == 200:
        assert_choices_stay_in_tenant(add, own, other)
    assert change.status_code == 200
    assert_choices_stay_in_tenant(change, own, other)


def test_the_foreign_key_check_sees_the_account_staff_choice(db):
    # A positive control for the generic check: the account form's staff field is one
    # of the fields it inspects, and A's staff are offered there while B's are not.
    own, other = (Tenant(MerchantFactory(), Account, MerchantStaff) for _ in range(2))

    response = staff_client(own.merchant).get(url(Account, "add"))

    fields = dict(form_choice_fields(response))
    offered = set(fields["AccountForm.staff"].queryset)
    assert set(MerchantStaff.objects.filter(merchant=own.merchant)) <= offered
    assert not offered & set(MerchantStaff.objects.filter(merchant=other.merchant))
    assert assert_choices_stay_in_tenant(response, own, other) >= 2  # merchant and staff


# An autocomplete pages its results: an unordered queryset could skip or repeat rows.
@pytest.mark.filterwarnings("error::django.core.paginator.UnorderedObjectListWarning")
@pytest.mark.parametrize(
    ("model", "field_name"), AUTOCOMPLETE_FIELDS, ids=lambda v: getattr(v, "__name__", v)
)
def test_autocomplete_offers_staff_no_row_of_another_merchant(db, model, field_name):
    related = model._meta.get_field(field_name).related_model
    own, other = (Tenant(MerchantFactory(), model, related) for _ in range(2))

    response = staff_client(own.merchant).get(
        reverse("admin:autocomplete"),
        {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name},
    )

    assert response.status_code == 200
    offered = {str(item["id"]) for item in response.json()["results"]}
    assert offered
    assert not offered & {str(pk) for pk in other.pks(related) - own.pks(related)}


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_staff_without_a_merchant_see_no_merchant_rows(db, model):
    make(model, MerchantFactory())
    client = Client()
    client.force_login(UserFactory(is_staff=True))

    assert client.get(url(model, "changelist")).status_code == 403


# --- Superusers and the models that belong to no merchant ---------------------------


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=_label)
def test_superuser_sees_every_merchants_rows(db, model):
    a, b = MerchantFactory(), MerchantFactory()
    rows = [make(model, a), make(model, b)]
    client = superuser_client()

    response = client.get(url(model, "changelist"))

    assert response.status_code == 200
    listed = {row.pk for row in response.context["cl"].result_list}
    assert {row.pk for row in rows} <= listed
    assert client.get(url(model, "change", rows[1])).status_code == 200


@pytest.mark.parametrize("model", UNSCOPED_MODELS, ids=_label)
def test_merchant_staff_are_refused_admins_of_models_without_a_merchant(db, model):
    response = staff_client(MerchantFactory()).get(url(model, "changelist"))

    assert response.status_code == 403


@pytest.mark.parametrize("model", UNSCOPED_MODELS, ids=_label)
def test_superuser_opens_admins_of_models_without_a_merchant(db, model):
    assert superuser_client().get(url(model, "changelist")).status_code == 200


def test_merchant_staff_cannot_open_another_staff_users_login(db):
    a, b = MerchantFactory(), MerchantFactory()
    other_user = MerchantStaffFactory(merchant=b).user

    response = staff_client(a).get(url(get_user_model(), "change", other_user))

    assert response.status_code == 403


def test_inline_post_naming_another_merchants_row_changes_nothing(db):
    # given: staff of A edit their merchant, whose page has an inline of accounts
    a, b = MerchantFactory(), MerchantFactory()
    others_account = make(Account, b)
    before = snapshot(others_account)
    client = staff_client(a)
    page = client.get(url(Merchant, "change", a))
    assert page.status_code == 200
    formsets = {f.formset.prefix: f.formset for f in page.context["inline_admin_formsets"]}
    assert "accounts" in formsets

    # when: the inline's only "existing" row is B's account, renamed
    data = {"name": a.name}
    for prefix in formsets:
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    data |= {
        "accounts-TOTAL_FORMS": "1",
        "accounts-INITIAL_FORMS": "1",
        "accounts-0-id": str(others_account.pk),
        "accounts-0-handle": "hijacked",
        "accounts-0-kind": "koe",
        "accounts-0-display_name": "Hijacked",
    }
    response = client.post(url(Merchant, "change", a), data)

    # then: the form went through (a redirect), B's account is untouched, A gained none
    assert response.status_code == 302, response.context and response.context["errors"]
    assert snapshot(others_account) == before
    assert not Account.objects.filter(handle="hijacked").exists()
