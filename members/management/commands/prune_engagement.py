from django.conf import settings
from django.core.management.base import BaseCommand

from members.engagement import jobs


class Command(BaseCommand):
    help = "Forget engagement events older than ENGAGEMENT_RETENTION_DAYS (the nightly job, by hand)."

    def handle(self, *args, **options):
        result = jobs.engagement_prune()
        months = ", ".join(m.strftime("%Y-%m") for m in result.dropped_months) or "none"
        created = ", ".join(m.strftime("%Y-%m") for m in result.created_months) or "none"
        self.stdout.write(
            f"Events before {result.cutoff:%Y-%m-%d %H:%M} ({settings.ENGAGEMENT_RETENTION_DAYS} days): "
            f"{result.deleted_rows} rows deleted; monthly partitions dropped: {months}; created: {created}."
        )
