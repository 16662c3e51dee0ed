"""What the members app's commands share: the merchants a ``--merchant SLUG`` names."""

from django.core.management.base import CommandError
from django.db.models import QuerySet

from members.models import Merchant


def add_merchant_argument(parser) -> None:
    parser.add_argument("--merchant", metavar="SLUG", help="Only this merchant.")


def merchants_chosen(slug: str | None) -> QuerySet[Merchant]:
    """Every merchant by slug, or the one ``slug`` names (an unknown one is a CommandError)."""
    merchants = Merchant.objects.order_by("slug")
    if slug:
        merchants = merchants.filter(slug=slug)
        if not merchants.exists():
            raise CommandError(f"No merchant with slug {slug!r}.")
    return merchants
