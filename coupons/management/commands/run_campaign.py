"""``run_campaign ID [--resume RUN]``: a run through the workers, watched to its end."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from coupons.models import Campaign, CampaignRun
from coupons.services.campaign_runs import campaign_run_request, campaign_run_resume

FINISHED = (CampaignRun.Status.DONE, CampaignRun.Status.FAILED, CampaignRun.Status.CANCELLED)
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Start a run of a campaign (or resume one with --resume RUN) through the Celery workers, "
        "show its progress, and print the run id and its final counts. Needs a running worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int, help="The campaign's id.")
        parser.add_argument(
            "--resume", type=int, metavar="RUN", help="Resume this run instead of starting one."
        )
        parser.add_argument(
            "--timeout", type=float, default=3600, help="Seconds to wait for the end (default 3600)."
        )
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between progress reads.")

    def handle(self, *args, campaign, resume, timeout, interval, **options):
        found = Campaign.objects.select_related("merchant", "template").filter(pk=campaign).first()
        if found is None:
            raise CommandError(f"No campaign {campaign}.")
        try:
            if resume is None:
                run = campaign_run_request(campaign=found)
            else:
                run = CampaignRun.objects.filter(campaign=found, pk=resume).first()
                if run is None:
                    raise CommandError(f"Campaign {campaign} has no run {resume}.")
                run = campaign_run_resume(run=run)
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from None
        self.stdout.write(f"Run {run.pk} of campaign {found.pk} ({found.name}): {run.status}")
        run = self._watch(run.pk, timeout=timeout, interval=interval)
        duration = (
            (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0
        )
        self.stdout.write(
            f"Run {run.pk}: {run.status}; audience {run.audience_size}, issued {run.issued}, "
            f"skipped {run.skipped} (limit {run.skipped_limit}, stock {run.skipped_stock})"
            f" in {duration:.1f} s" + (f"; error: {run.error}" if run.error else "")
        )
        if run.status not in FINISHED:
            raise CommandError(f"Run {run.pk} did not finish in {timeout:.0f} s (is a worker running?).")
        if run.status != CampaignRun.Status.DONE:
            raise CommandError(f"Run {run.pk} {run.status}.")

    def _watch(self, run_id: int, *, timeout: float, interval: float) -> CampaignRun:
        deadline = time.monotonic() + timeout
        shown = None
        while True:
            run = CampaignRun.objects.get(pk=run_id)
            line = self._bar(run)
            if line != shown:
                self.stdout.write(line)
                shown = line
            if run.status in FINISHED or time.monotonic() > deadline:
                return run
            time.sleep(interval)

    def _bar(self, run: CampaignRun) -> str:
        filled = round(run.progress * BAR_WIDTH)
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {run.progress:4.0%} "
            f"{run.chunks_done}/{run.chunks_total} chunks, issued {run.issued}, "
            f"skipped {run.skipped} ({run.status})"
        )
