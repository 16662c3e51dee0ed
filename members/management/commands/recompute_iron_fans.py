from django.core.management.base import BaseCommand, CommandError

from members.engagement import jobs
from members.models import Merchant


class Command(BaseCommand):
    help = "Promote and demote iron fans now (the hourly job, by hand); prints the changes per account."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", metavar="SLUG", help="Only this merchant.")

    def handle(self, *args, **options):
        merchants = Merchant.objects.order_by("slug")
        if options["merchant"]:
            merchants = merchants.filter(slug=options["merchant"])
            if not merchants.exists():
                raise CommandError(f"No merchant with slug {options['merchant']!r}.")
        for merchant in merchants:
            result = jobs.iron_fans_recompute(merchant=merchant)
            handles = dict(merchant.accounts.values_list("pk", "handle"))
            self.stdout.write(f"{merchant.slug}: {result.promoted} promoted, {result.demoted} demoted")
            for account_id, (up, down) in sorted(result.by_account.items()):
                self.stdout.write(f"  @{handles.get(account_id, account_id)}: +{up} -{down}")
