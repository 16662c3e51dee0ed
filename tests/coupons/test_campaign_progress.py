"""The campaign page's live progress: a JSON view per run, polled by its progress bar."""

import pytest

from coupons.models import CampaignRun
from tests.conftest import staff_client
from tests.coupons.factories import CampaignRunFactory

pytestmark = pytest.mark.django_db
# Session, user, staff link, the campaign, its tenancy check, the run (and a savepoint).
PROGRESS_QUERIES = 7


def progress_url(run) -> str:
    return f"/admin/coupons/campaign/{run.campaign_id}/runs/{run.pk}/progress/"


@pytest.mark.parametrize(
    ("status", "done", "total", "percent", "finished"),
    [
        ("queued", 0, 0, 0, False),
        ("running", 1, 4, 25, False),
        ("running", 4, 4, 99, False),  # all chunks done, the run not yet closed
        ("done", 4, 4, 100, True),
        ("failed", 2, 4, 50, True),
    ],
)
def test_progress_follows_the_runs_chunks(
    merchant, status, done, total, percent, finished, django_assert_max_num_queries
):
    run = CampaignRunFactory(
        campaign__merchant=merchant, status=status, chunks_done=done, chunks_total=total, issued=7
    )

    client = staff_client(merchant)

    with django_assert_max_num_queries(PROGRESS_QUERIES):
        response = client.get(progress_url(run))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["percent"], body["finished"]) == (status, percent, finished)
    assert body["issued"] == 7


def test_another_merchants_run_is_not_found(merchant, other_merchant):
    run = CampaignRunFactory(campaign__merchant=other_merchant)

    assert staff_client(merchant).get(progress_url(run)).status_code == 404


def test_a_run_of_another_campaign_is_not_found(merchant):
    run = CampaignRunFactory(campaign__merchant=merchant)
    other = CampaignRunFactory(campaign__merchant=merchant)

    url = f"/admin/coupons/campaign/{run.campaign_id}/runs/{other.pk}/progress/"
    assert staff_client(merchant).get(url).status_code == 404


def test_the_campaign_page_draws_a_polling_bar_for_an_unfinished_run(merchant):
    run = CampaignRunFactory(campaign__merchant=merchant, status=CampaignRun.Status.RUNNING, chunks_total=2)

    html = staff_client(merchant).get(f"/admin/coupons/campaign/{run.campaign_id}/change/").content.decode()

    assert f'data-progress-url="{progress_url(run)}"' in html
    assert 'data-status="running"' in html
    assert "coupons/campaign_progress.js" in html
