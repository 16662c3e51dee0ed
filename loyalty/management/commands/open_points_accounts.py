from django.core.management.base import BaseCommand

from loyalty.services.backfill import points_accounts_backfill


class Command(BaseCommand):
    help = (
        "Open a points account for every membership that has none (memberships from before the "
        "ledger). One-off and safe to run again: a second run opens none."
    )

    def handle(self, *args, **options):
        opened = points_accounts_backfill()
        self.stdout.write(f"Opened {opened} points accounts.")
