"""In a real browser: merchant staff see their dashboard drawn from the demo's data, cannot
reach another merchant's objects or chart data, and create, dry-run and run a campaign whose
progress bar, polled from a real worker's progress, reaches 100%.

Screenshots of each step: test-artifacts/browser/<test>/NN-<step>.png.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from coupons.models import Campaign, CampaignRun, CouponTemplate
from loyalty.dashboard.charts import CHARTS
from loyalty.demo import DEMO_PASSWORD
from members.models import Follow
from tests.workers import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)

READ_CHARTS = """() => Object.fromEntries(Object.entries(window.fanbaseDashboard.charts).map(([name, c]) => [
  name,
  {
    empty: c.json.empty,
    merchant: c.json.merchant,
    labels: c.chart ? c.chart.data.datasets.map((d) => d.label) : null,
    points: c.chart
      ? c.chart.data.datasets.map((d) => d.data.filter((v) => v !== null && v !== 0).length)
      : null,
    axes: c.chart ? Object.values(c.chart.options.scales).map((s) => s.title && s.title.text) : null,
    rows: document.querySelectorAll("#chart-" + name + " tbody tr").length,
  },
]))"""


def test_merchant_staff_journey_in_a_browser(browser_page, live_server, tmp_path):
    page, base = browser_page, live_server.url
    call_command("seed_demo", "--base-url", base, stdout=StringIO())
    other_campaign = Campaign.objects.filter(merchant__slug="river-tea").order_by("pk").first()
    other_template = CouponTemplate.objects.filter(merchant__slug="river-tea").order_by("pk").first()
    followers = Follow.objects.filter(account__handle="acme-beauty").count()
    assert followers > 0

    with celery_worker(tmp_path / "worker.log"):
        # Staff of Acme log in and land on Acme's dashboard.
        page.goto(f"{base}/admin/login/?next=/admin/")
        page.fill("#id_username", "acme-beauty-staff")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        page.wait_for_function(
            "window.fanbaseDashboard && window.fanbaseDashboard.total > 0 && "
            "window.fanbaseDashboard.loaded === window.fanbaseDashboard.total"
        )
        assert "Dashboard — Acme Beauty" in page.inner_text("#content h1")
        page.shot("dashboard")

        # Every chart is drawn from the seeded data: datasets with points, axes with titles.
        charts = page.evaluate(READ_CHARTS)
        assert set(charts) == set(CHARTS)
        for name, chart in charts.items():
            assert chart["empty"] is False and chart["merchant"] == "acme-beauty", name
            if chart["points"] is None:  # a table
                assert chart["rows"] > 0, name
            else:
                assert max(chart["points"]) > 0, (name, chart)
                assert all(chart["axes"]), (name, chart["axes"])
        assert charts["iron-fan-ratio"]["labels"][0] == "@acme-beauty (brand)"

        # Another merchant's objects and chart data are out of reach by URL.
        for path in [
            f"/admin/coupons/campaign/{other_campaign.pk}/change/",
            f"/admin/coupons/coupontemplate/{other_template.pk}/change/",
            "/admin/dashboard/charts/points/?merchant=river-tea",
            "/admin/?merchant=river-tea",
        ]:
            response = page.goto(base + path)
            if path.startswith("/admin/?"):
                assert "River Tea" not in page.inner_text("#content"), path  # the plain index
            else:
                assert response.status in (403, 404), (path, response.status)
        page.shot("other-merchant-refused")

        # A coupon template, then a campaign of it for the brand's followers.
        page.goto(f"{base}/admin/coupons/coupontemplate/add/")
        page.fill("#id_name", "Browser: 15 off")
        page.select_option("#id_kind", "fixed")
        page.fill("#id_value", "15")
        page.fill("#id_valid_days", "30")
        page.click("input[name=_save]")
        page.wait_for_selector(".messagelist .success")
        page.shot("template-created")

        page.goto(f"{base}/admin/coupons/campaign/add/")
        page.fill("#id_name", "Browser campaign")
        page.select_option("#id_template", label="Browser: 15 off")
        page.fill("#id_audience", '{"followers_of": "acme-beauty"}')
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        page.shot("campaign-created")

        # The dry run tells the audience's size.
        page.click("button:has-text('Dry run')")
        page.wait_for_selector(".messagelist .info, .messagelist .success")
        assert f"the audience holds {followers} shoppers" in page.inner_text(".messagelist")
        page.shot("dry-run")

        # The run: its progress bar follows the worker to 100%.
        page.click("button:has-text('Run now')")
        page.wait_for_selector(".campaign-run-progress")
        page.shot("run-started")
        page.wait_for_selector('.campaign-run-progress[data-percent="100"]', timeout=60_000)
        assert page.inner_text(".campaign-run-progress .campaign-run-percent") == "100%"
        page.shot("run-done")

    run = CampaignRun.objects.get(campaign__name="Browser campaign")
    assert (run.status, run.issued, run.campaign.merchant.slug) == ("done", followers, "acme-beauty")
