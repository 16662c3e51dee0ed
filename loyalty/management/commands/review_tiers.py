from django.core.management.base import BaseCommand, CommandError

from loyalty.services.tiers import tier_review
from members.models import Merchant


class Command(BaseCommand):
    help = "Move members whose 12-month spend no longer reaches their tier one tier down (the nightly job)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="Only this merchant's members (slug).")

    def handle(self, *args, merchant=None, **options):
        merchant_id = None
        if merchant is not None:
            merchant_id = Merchant.objects.filter(slug=merchant).values_list("pk", flat=True).first()
            if merchant_id is None:
                raise CommandError(f"No merchant {merchant!r}.")
        result = tier_review(merchant_id=merchant_id)
        self.stdout.write(f"Reviewed {result.members} members in tiers; moved {result.moved} one tier down.")
