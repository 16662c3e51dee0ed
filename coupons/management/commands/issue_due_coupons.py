from django.core.management.base import BaseCommand

from coupons.services.scheduled import coupons_issue_due


class Command(BaseCommand):
    help = "Issue the delayed coupons (repurchase coupons with a delay) whose time has come."

    def handle(self, *args, **options):
        result = coupons_issue_due()
        self.stdout.write(
            f"Issued {result.issued} coupons; {result.skipped} could not be issued (see the admin)."
        )
