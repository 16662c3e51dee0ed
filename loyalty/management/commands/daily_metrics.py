from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loyalty.dashboard import jobs
from members.models import Merchant


class Command(BaseCommand):
    help = (
        "Daily merchant metrics for the dashboard and GET /api/v1/merchant/metrics. "
        "`backfill` computes the days of the last --days (ending yesterday, UTC) that some "
        "merchant lacks; `rebuild` recomputes every day of the range. Both are idempotent: "
        "a day is rewritten whole. Fan figures come from the per-account snapshots: run "
        "snapshot_fan_stats for those days first."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["backfill", "rebuild"])
        parser.add_argument("--days", type=int, default=90, help="Days ending --until (default 90).")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="The last day (default: yesterday, UTC).")
        parser.add_argument("--merchant", metavar="SLUG", help="Only this merchant.")

    def handle(self, *args, action, days, until, merchant, **options):
        if not 1 <= days <= 3660:
            raise CommandError("--days must be between 1 and 3660.")
        last = jobs.last_complete_day()
        if until:
            try:
                last = date.fromisoformat(until)
            except ValueError:
                raise CommandError(f"--until must be YYYY-MM-DD, not {until!r}.") from None
        shop = None
        if merchant:
            shop = Merchant.objects.filter(slug=merchant).first()
            if shop is None:
                raise CommandError(f"No merchant {merchant!r}.")
        first = last.fromordinal(last.toordinal() - days + 1)
        wanted = (
            jobs.days_missing(first=first, last=last, merchant=shop)
            if action == "backfill"
            else jobs.days_between(first, last)
        )
        result = jobs.metrics_compute(days=wanted, merchant=shop)
        self.stdout.write(
            f"{action}: {len(result.days)} days from {first} to {last} computed "
            f"({result.merchant_rows} merchant-day rows written)."
        )
