from django.core.management.base import BaseCommand

from members.fan_counts import merchant_fan_counts_recount
from members.management.merchants import add_merchant_argument, merchants_chosen


class Command(BaseCommand):
    help = (
        "Count each account's fans and iron fans again from the follows and repair the kept counts "
        "(after follows were loaded or restored around the services); prints how many were wrong."
    )

    def add_arguments(self, parser):
        add_merchant_argument(parser)

    def handle(self, *args, **options):
        for merchant in merchants_chosen(options["merchant"]):
            wrong = merchant_fan_counts_recount(merchant_id=merchant.pk)
            self.stdout.write(f"{merchant.slug}: {wrong} account(s) repaired")
