"""Coupons in the admin: issuing a template to selected members, voiding coupons; merchant-scoped."""

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from coupons.models import Coupon
from coupons.services.issuing import coupon_issue_to_shopper
from members.models import Membership
from tests.conftest import row_counts, staff_client
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import MembershipFactory

MEMBERSHIPS = reverse("admin:members_membership_changelist")
COUPONS = reverse("admin:coupons_coupon_changelist")


def issue(client, memberships, template=None):
    data = {"action": "issue_coupon", ACTION_CHECKBOX_NAME: [m.pk for m in memberships]}
    if template is not None:
        data |= {"apply": "Issue coupons", "template": template.pk}
    return client.post(MEMBERSHIPS, data, follow=template is not None)


def messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_action_asks_which_of_the_merchants_templates(merchant, other_merchant):
    mine = CouponTemplateFactory(merchant=merchant, name="Mine")
    CouponTemplateFactory(merchant=merchant, name="Switched off", active=False)
    CouponTemplateFactory(merchant=other_merchant, name="Theirs")
    members = [MembershipFactory(merchant=merchant) for _ in range(2)]

    response = issue(staff_client(merchant), members)

    assert response.status_code == 200
    choices = list(response.context["form"].fields["template"].queryset)
    assert choices == [mine]
    assert b"Issue one coupon to each of these 2 members" in response.content


def test_issuing_a_template_to_selected_members(merchant):
    template = CouponTemplateFactory(merchant=merchant, name="Welcome back")
    chosen = [MembershipFactory(merchant=merchant) for _ in range(2)]
    MembershipFactory(merchant=merchant)  # not selected

    response = issue(staff_client(merchant), chosen, template)

    assert response.status_code == 200
    assert messages(response) == ["Issued 2 coupons of Welcome back."]
    issued = Coupon.objects.filter(template=template)
    assert sorted(issued.values_list("shopper_id", flat=True)) == sorted(m.shopper_id for m in chosen)
    assert set(issued.values_list("source", "state")) == {("manual", "issued")}
    template.refresh_from_db()
    assert template.issued_count == 2


def test_members_who_cannot_get_one_are_counted_by_reason(merchant):
    template = CouponTemplateFactory(merchant=merchant, name="T")
    holder, fresh, former, last = (MembershipFactory(merchant=merchant) for _ in range(4))
    CouponFactory(template=template, shopper=holder.shopper)  # already at the limit of 1
    Membership.objects.filter(pk=former.pk).update(status=Membership.Status.LEFT)

    response = issue(staff_client(merchant), [holder, fresh, former, last], template)

    assert messages(response) == [
        "Issued 2 coupons of T. Not issued: 1 coupon_limit_reached, 1 not_a_member."
    ]
    assert set(Coupon.objects.filter(template=template).values_list("shopper_id", flat=True)) == {
        holder.shopper_id,
        fresh.shopper_id,
        last.shopper_id,
    }


def test_staff_of_another_merchant_cannot_pick_the_template(merchant, other_merchant):
    template = CouponTemplateFactory(merchant=merchant)
    their_members = [MembershipFactory(merchant=other_merchant) for _ in range(2)]
    client = staff_client(other_merchant)
    before = row_counts()

    response = issue(client, their_members, template)

    assert response.status_code == 200
    assert "template" in response.context["form"].errors
    assert row_counts() == before


def test_staff_cannot_issue_to_another_merchants_members(merchant, other_merchant):
    template = CouponTemplateFactory(merchant=merchant)
    theirs = MembershipFactory(merchant=other_merchant)
    client = staff_client(merchant)
    before = row_counts()

    response = issue(client, [theirs], template)

    assert row_counts() == before
    assert not Coupon.objects.exists()
    assert messages(response) == [f"Issued 0 coupons of {template}."]


def test_voiding_selected_coupons_leaves_used_ones_and_other_merchants_alone(merchant, other_merchant):
    unused = CouponFactory(template__merchant=merchant)
    used = CouponFactory(template__merchant=merchant, state="redeemed", redeemed_at=timezone.now())
    theirs = CouponFactory(template__merchant=other_merchant)

    response = staff_client(merchant).post(
        COUPONS,
        {"action": "void_coupons", ACTION_CHECKBOX_NAME: [unused.pk, used.pk, theirs.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert messages(response) == ["Voided 1 coupons; used or expired ones were left as they were."]
    assert dict(Coupon.objects.values_list("pk", "state")) == {
        unused.pk: "void",
        used.pk: "redeemed",
        theirs.pk: "issued",
    }


def test_coupons_are_found_by_code_within_the_merchant(merchant, other_merchant):
    mine = CouponFactory(template__merchant=merchant)
    theirs = CouponFactory(template__merchant=other_merchant)
    client = staff_client(merchant)

    found = client.get(COUPONS, {"q": mine.code})
    not_found = client.get(COUPONS, {"q": theirs.code})

    assert [c.pk for c in found.context["cl"].result_list] == [mine.pk]
    assert list(not_found.context["cl"].result_list) == []


def test_staff_cannot_add_coupons_by_hand(merchant):
    response = staff_client(merchant).get(reverse("admin:coupons_coupon_add"))

    assert response.status_code == 403


def template_form(template, **changes) -> dict:
    data = {
        "name": template.name,
        "kind": template.kind,
        "value": str(template.value),
        "min_spend": str(template.min_spend),
        "max_discount": "",
        "scope": template.scope,
        "category": "",
        "valid_days": str(template.valid_days),
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "per_member_limit": str(template.per_member_limit),
        "stock": "" if template.stock is None else str(template.stock),
        "points_price": "",
        "active": "on",
    }
    return {**data, **changes}


def test_staff_change_a_templates_stock(merchant):
    template = CouponTemplateFactory(merchant=merchant, stock=10)
    url = reverse("admin:coupons_coupontemplate_change", args=[template.pk])

    response = staff_client(merchant).post(url, template_form(template, stock="20"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    template.refresh_from_db()
    assert template.stock == 20


def test_a_stock_below_what_was_issued_is_a_form_error_not_a_server_error(merchant):
    template = CouponTemplateFactory(merchant=merchant, stock=10)
    for membership in [MembershipFactory(merchant=merchant) for _ in range(3)]:
        coupon_issue_to_shopper(template=template, shopper=membership.shopper)
    url = reverse("admin:coupons_coupontemplate_change", args=[template.pk])

    response = staff_client(merchant).post(url, template_form(template, stock="2"))

    assert response.status_code == 200
    assert "3 have been issued already" in str(response.context["adminform"].form.errors["stock"])
    template.refresh_from_db()
    assert (template.stock, template.issued_count) == (10, 3)


def form_errors(response) -> dict:
    return {
        name: [str(e) for e in errors] for name, errors in response.context["adminform"].form.errors.items()
    }


def test_the_admin_refuses_the_terms_the_api_refuses_with_the_same_message(merchant):
    template = CouponTemplateFactory(merchant=merchant, name="Half off")
    url = reverse("admin:coupons_coupontemplate_change", args=[template.pk])
    client = staff_client(merchant)
    before = row_counts()

    response = client.post(url, template_form(template, kind="percent", value="150"))

    assert response.status_code == 200
    assert form_errors(response) == {"value": ["A percent discount is at most 100."]}
    assert row_counts() == before
    template.refresh_from_db()
    assert template.kind == "fixed"


def test_a_new_template_in_the_admin_needs_a_window_not_yet_over(merchant):
    client = staff_client(merchant)
    before = row_counts()
    data = template_form(
        CouponTemplateFactory.build(merchant=merchant, name="Expired already"),
        valid_days="",
        valid_until_0="2000-01-01",
        valid_until_1="00:00:00",
    )

    response = client.post(reverse("admin:coupons_coupontemplate_add"), data)

    assert response.status_code == 200
    assert form_errors(response) == {"valid_until": ["Must be in the future."]}
    assert row_counts() == before


def test_a_template_whose_window_is_over_can_still_be_edited_otherwise(merchant):
    over = (timezone.now() - timezone.timedelta(days=1)).replace(microsecond=0)
    template = CouponTemplateFactory(merchant=merchant, valid_days=None, valid_until=over, stock=5)
    url = reverse("admin:coupons_coupontemplate_change", args=[template.pk])
    until = timezone.localtime(template.valid_until)
    data = template_form(
        template,
        valid_days="",
        valid_until_0=until.strftime("%Y-%m-%d"),
        valid_until_1=until.strftime("%H:%M:%S"),
        stock="6",
    )

    response = staff_client(merchant).post(url, data)

    assert response.status_code == 302, form_errors(response)
    template.refresh_from_db()
    assert template.stock == 6
