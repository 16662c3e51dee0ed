"""python manage.py seed_demo: the demo data for `make run`, loaded idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from members.models import Account, Follow, Membership, Merchant, MerchantAPIKey, MerchantStaff, Shopper
from storefront.models import InboxMessage, Preference, PushRollout
from tests.conftest import row_counts

pytestmark = pytest.mark.django_db


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def printed_keys(output: str) -> list[str]:
    return [line.rsplit("Api-Key ", 1)[1].strip() for line in output.splitlines() if "Api-Key " in line]


def test_seed_demo_loads_two_merchants_with_accounts_staff_and_fans():
    seed_demo()

    merchants = list(Merchant.objects.all())
    assert len(merchants) == 2
    for merchant in merchants:
        kinds = sorted(Account.objects.filter(merchant=merchant).values_list("kind", flat=True))
        assert kinds == ["brand", "koe", "koe"]
        assert MerchantStaff.objects.filter(merchant=merchant, user__is_staff=True).exists()
        assert Membership.objects.filter(merchant=merchant).exists()
        assert Follow.objects.filter(account__merchant=merchant).exists()
    assert Shopper.objects.filter(user__isnull=False).count() >= 2


def test_seed_demo_twice_adds_no_rows_but_fresh_keys():
    seed_demo()
    once = row_counts()
    usable_once = MerchantAPIKey.objects.get_usable_keys().count()

    output = seed_demo()

    # then: the same rows, except that the demo keys were reissued and the old ones revoked
    twice = row_counts()
    keys = "members.MerchantAPIKey"
    assert {k: v for k, v in twice.items() if k != keys} == {k: v for k, v in once.items() if k != keys}
    assert twice[keys] == once[keys] + usable_once
    assert MerchantAPIKey.objects.get_usable_keys().count() == usable_once == 2
    for key in printed_keys(output):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        assert client.get("/api/v1/merchant/accounts").status_code == 200


def test_seed_demo_revokes_the_keys_it_printed_before():
    first_keys = printed_keys(seed_demo())
    seed_demo()

    assert len(first_keys) == 2
    for key in first_keys:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        assert client.get("/api/v1/merchant/accounts").status_code == 401


def test_seed_demo_has_a_scheduled_campaign_and_one_to_run_by_hand_per_merchant():
    from coupons.audiences import audience_size
    from coupons.models import Campaign

    seed_demo()

    for merchant in Merchant.objects.all():
        scheduled, by_hand = Campaign.objects.filter(merchant=merchant).order_by("-schedule")
        assert (scheduled.schedule, scheduled.periodic_task.enabled) == ("0 10 * * 1", True)
        assert (by_hand.schedule, by_hand.run_at, by_hand.periodic_task) == ("", None, None)
        assert audience_size(merchant=merchant, audience=by_hand.audience) > 0


def test_seed_demo_has_a_cancelled_run_of_the_campaign_to_run_by_hand():
    from coupons.models import CampaignRun, Coupon

    seed_demo()

    for merchant in Merchant.objects.all():
        # the campaign pages show a run that was split into chunks, then cancelled before any ran
        (run,) = CampaignRun.objects.filter(merchant=merchant)
        assert run.campaign.name == "Thank you, followers"
        assert run.status == CampaignRun.Status.CANCELLED
        assert run.started_at is not None and run.finished_at is not None
        assert run.audience_size > 0 and run.chunks_total >= 1
        assert (run.chunks_done, run.issued) == (0, 0)
        assert not Coupon.objects.filter(campaign_run=run).exists()
    # nothing is left unfinished: "Run now" works on the demo's campaigns
    assert not CampaignRun.objects.filter(status__in=["queued", "running"]).exists()


def test_seed_demo_shows_preferences_pushes_and_the_feed():
    seed_demo()

    # the demo orders recorded preferences; stage 1 of every product reached its iron fans
    assert Preference.objects.exists()
    assert PushRollout.objects.count() == 7
    assert InboxMessage.objects.filter(delivered_at__isnull=False).exists()
    assert set(InboxMessage.objects.values_list("stage", flat=True)) == {"iron_fans"}
    # a rerun starts nothing twice
    before = InboxMessage.objects.count()
    seed_demo()
    assert InboxMessage.objects.count() == before


def test_seed_demo_shows_tier_history_of_every_kind_and_a_disabled_webhook_endpoint():
    from loyalty.models import TierChange
    from members.webhooks.models import WebhookEndpoint

    seed_demo()

    reasons = set(TierChange.objects.values_list("reason", flat=True))
    assert reasons == {"upgrade", "review", "manual"}
    lapsed = TierChange.objects.get(reason="review")
    assert (lapsed.from_tier.name, lapsed.to_tier.name) == ("Gold", "Silver")
    endpoint = WebhookEndpoint.objects.get(merchant__slug="acme-beauty")
    assert not endpoint.active and "Demo example" in endpoint.disabled_reason
