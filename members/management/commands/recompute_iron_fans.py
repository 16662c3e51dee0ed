from django.core.management.base import BaseCommand

from members.engagement import jobs
from members.management.merchants import add_merchant_argument, merchants_chosen


class Command(BaseCommand):
    help = "Promote and demote iron fans now (the hourly job, by hand); prints the changes per account."

    def add_arguments(self, parser):
        add_merchant_argument(parser)

    def handle(self, *args, **options):
        for merchant in merchants_chosen(options["merchant"]):
            result = jobs.iron_fans_recompute(merchant=merchant)
            handles = dict(merchant.accounts.values_list("pk", "handle"))
            self.stdout.write(f"{merchant.slug}: {result.promoted} promoted, {result.demoted} demoted")
            for account_id, (up, down) in sorted(result.by_account.items()):
                self.stdout.write(f"  @{handles.get(account_id, account_id)}: +{up} -{down}")
