from django.core.management.base import BaseCommand

from loyalty.services.expiry import points_expire_due


class Command(BaseCommand):
    help = "Expire what is left of points lots past their date (the nightly job, by hand)."

    def handle(self, *args, **options):
        result = points_expire_due()
        self.stdout.write(
            f"Expired {result.points} points in {result.lots} lots of {result.accounts} accounts."
        )
