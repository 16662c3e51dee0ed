from datetime import UTC, date, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from members.engagement import jobs


class Command(BaseCommand):
    help = (
        "Snapshot every account's fans and iron fans for a day (default: yesterday, UTC). "
        "Safe to rerun; a day already snapshotted after it ended is kept as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="The day to snapshot or backfill.")

    def handle(self, *args, **options):
        today = datetime.now(UTC).date()
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}.") from None
            if day > today:
                raise CommandError("--date cannot be in the future.")
        else:
            day = today - timedelta(days=1)
        result = jobs.fan_stats_snapshot(day=day)
        self.stdout.write(f"Snapshot of {day}: {result.accounts} account rows written.")
