"""A shopper's deletion: a superuser's, from the admin (staff cannot delete shoppers)."""

from django.db import transaction

from members.fan_counts import fan_counts_move, fans_gone
from members.locks import follows_lock, memberships_lock
from members.models import Follow, Shopper


@transaction.atomic
def shopper_delete(*, shopper: Shopper) -> None:
    """Delete the shopper with everything that is only theirs (memberships, follows, scores).

    Their follows leave the accounts' fan counts one fan less each (``members.fan_counts``).
    Locks in ``core.locks`` order: the memberships (which go with the shopper), then the
    follows; the counts last. A shopper with orders is protected: the admin refuses before
    it gets here.
    """
    list(memberships_lock().filter(shopper=shopper).values_list("pk"))
    follows = list(follows_lock().filter(shopper=shopper).values_list("account_id", "iron_fan"))
    Follow.objects.filter(shopper=shopper).delete()
    fan_counts_move(fans_gone(follows))
    shopper.delete()
