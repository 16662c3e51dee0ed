"""The iron-fan admin: the KOE leaderboard, the fan policy form, read-only events.
(Tenancy of every one of them is proven by tests/test_admin_tenancy.py.)"""

from django.test import Client
from django.urls import reverse

from members.engagement.models import EngagementEvent
from tests.conftest import staff_client
from tests.members.factories import (
    AccountFactory,
    EngagementEventFactory,
    FanPolicyFactory,
    FollowFactory,
    UserFactory,
)

ACCOUNTS = reverse("admin:members_account_changelist")


def superuser() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_accounts_sorted_by_iron_fan_ratio_are_the_koe_leaderboard(merchant):
    for handle, fans, iron in [("low", 10, 1), ("top", 4, 3), ("mid", 4, 1), ("none", 0, 0)]:
        account = AccountFactory(merchant=merchant, handle=handle)
        FollowFactory.create_batch(fans - iron, account=account)
        FollowFactory.create_batch(iron, account=account, iron_fan=True)
    ratio_column = AccountAdminColumns.index("iron_fan_ratio")

    response = staff_client(merchant).get(ACCOUNTS, {"o": f"-{ratio_column + 1}"})

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [a.handle for a in rows][:3] == ["top", "mid", "low"]
    assert "75.0%" in response.content.decode()


AccountAdminColumns = ["handle", "kind", "display_name", "merchant", "fans", "iron_fans", "iron_fan_ratio"]


def test_the_policy_form_refuses_demote_below_at_or_above_promote_at(merchant):
    policy = FanPolicyFactory(merchant=merchant)
    url = reverse("admin:members_fanpolicy_change", args=[policy.pk])
    page = staff_client(merchant)
    form = page.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if name != "merchant"}

    response = page.post(url, data | {"promote_at": 30, "demote_below": 30})

    assert response.status_code == 200
    assert "demote_below" in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert (policy.promote_at, policy.demote_below) == (40.0, 25.0)


def test_engagement_events_are_read_only_even_for_a_superuser(merchant):
    event = EngagementEventFactory(account=AccountFactory(merchant=merchant))
    client = superuser()

    assert client.get(reverse("admin:members_engagementevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:members_engagementevent_add")).status_code == 403
    response = client.post(reverse("admin:members_engagementevent_delete", args=[event.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert EngagementEvent.objects.filter(pk=event.pk).exists()
