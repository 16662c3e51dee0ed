"""``python manage.py advance_rollouts`` and the beat task: the rollout step, by hand or on schedule."""

from datetime import timedelta
from io import StringIO

from django.conf import settings
from django.core.management import call_command

from loyalty.services.purchases import purchase_record
from storefront import tasks
from storefront.models import Preference, PushRollout
from storefront.services.rollouts import rollout_start
from tests.clock import T0
from tests.loyalty.conftest import order_input
from tests.storefront.factories import CategoryFactory, ProductFactory


def test_the_command_prints_what_moved(merchant, clock):
    product = ProductFactory(merchant=merchant, sku="NEW-1", published_at=T0, tags=[])
    rollout_start(product_id=product.pk)
    clock.now = T0 + timedelta(days=1)
    out = StringIO()

    call_command("advance_rollouts", stdout=out)

    assert out.getvalue().splitlines() == [
        f"{merchant.slug}/NEW-1: iron_fans -> followers (reached nobody)",
        "1 rollouts moved.",
    ]
    assert PushRollout.objects.get(product=product).stage == "followers"


def test_the_beat_task_runs_the_same_step(merchant, clock):
    product = ProductFactory(merchant=merchant, published_at=T0, tags=[])
    rollout_start(product_id=product.pk)
    clock.now = T0 + timedelta(days=1)

    assert tasks.advance_rollouts() == [
        {"rollout": product.rollout.pk, "from": "iron_fans", "to": "followers"}
    ]
    assert tasks.advance_rollouts() == []


def test_the_beat_schedule_runs_the_rollout_step():
    entry = settings.CELERY_BEAT_SCHEDULE["advance-rollouts"]

    assert entry["task"] == tasks.advance_rollouts.name


def test_an_order_folds_its_preferences_itself_and_the_backfill_finds_nothing_left(merchant, shopper, clock):
    # given/when: an order (the pipeline writes its preferences in its transaction)
    ProductFactory(merchant=merchant, sku="S0", category=CategoryFactory(slug="tea"), tags=[])
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, lines=[("S0", 1, "4")]))

    # then: the preference is there at once, the backfill task has nothing to fold, and
    # it is no longer scheduled
    assert Preference.objects.get(shopper=shopper).slug == "tea"
    assert tasks.fold_order_preferences() == 0
    assert "fold-order-preferences" not in settings.CELERY_BEAT_SCHEDULE
