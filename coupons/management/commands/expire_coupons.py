from django.core.management.base import BaseCommand

from coupons.services.expiry import coupons_expire_due


class Command(BaseCommand):
    help = "Mark issued coupons past their date as expired (the nightly job, by hand)."

    def handle(self, *args, **options):
        self.stdout.write(f"Expired {coupons_expire_due()} coupons.")
