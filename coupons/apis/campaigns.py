"""Campaigns (merchant): create, list, read, change; the audience's dry run; runs and progress."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import AwareDateTimeField, model_field
from core.schema import api_operation
from coupons import audiences, errors, selectors
from coupons.models import Campaign, CampaignRun
from coupons.services import campaign_runs, campaigns
from members.authentication import MerchantApi

TAGS = ["merchant campaigns"]
AUDIENCE_HELP = (
    "Keys, ANDed: members (bool), iron_fans (bool), tier_at_least (tier name), bought_category (slug), "
    "lapsed_days (int), joined_within_days (int), followers_of (account handle). At least one key must "
    "select the merchant's shoppers (anything but members: false and iron_fans: false)."
)
SCHEDULE_HELP = "Five cron fields in the campaign's timezone, e.g. '0 10 * * 1' (Mondays 10:00); '' for none."
ID_PARAMETERS = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="The campaign's id.")]
AUDIENCE_ERRORS = [errors.AudienceInvalid.on("audience"), errors.AudienceInvalid.on("audience.KEY")]
TERMS_ERRORS = [
    errors.TemplateNotFound.on("template"),
    *AUDIENCE_ERRORS,
    errors.ScheduleInvalid.on("schedule"),
    errors.ScheduleInvalid.on("run_at"),
    errors.ScheduleInvalid.on("timezone"),
]
RUN_PARAMETERS = [
    *ID_PARAMETERS,
    OpenApiParameter("run", int, OpenApiParameter.PATH, description="The run's id."),
]


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    status = serializers.ChoiceField(choices=CampaignRun.Status.choices)
    audience_size = serializers.IntegerField()
    issued = serializers.IntegerField()
    skipped = serializers.IntegerField()
    skipped_limit = serializers.IntegerField(help_text="The shopper held as many unused coupons as allowed.")
    skipped_stock = serializers.IntegerField(help_text="The template's stock ran out.")
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    progress = serializers.FloatField(help_text="Share of the chunks done, 0 to 1.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class RunAcceptedOutput(serializers.Serializer):
    run = serializers.IntegerField(source="id")
    status = serializers.ChoiceField(choices=CampaignRun.Status.choices)


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    template = serializers.IntegerField(source="template_id")
    audience = serializers.DictField()
    schedule = serializers.CharField()
    run_at = serializers.DateTimeField(allow_null=True)
    timezone = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_run = RunOutput(allow_null=True, help_text="The latest run, if any.")


class CampaignFields(serializers.Serializer):
    name = model_field(Campaign, "name", allow_blank=False)
    template = model_field(Campaign, "template", help_text="A coupon template's id.")
    audience = serializers.DictField(help_text=AUDIENCE_HELP)
    schedule = model_field(Campaign, "schedule", required=False, help_text=SCHEDULE_HELP)
    run_at = AwareDateTimeField(required=False, allow_null=True, help_text="Run once at this time.")
    timezone = model_field(Campaign, "timezone", required=False, help_text="IANA name; default the server's.")
    active = serializers.BooleanField(required=False, help_text="false pauses the schedule.")


def _with_last_run(page) -> None:
    runs = selectors.campaign_runs_by_id(ids=[c.last_run_id for c in page])
    for campaign in page:
        campaign.last_run = runs.get(campaign.last_run_id)


def _answer(campaign: Campaign, *, code=status.HTTP_200_OK) -> Response:
    if not hasattr(campaign, "last_run"):
        campaign.last_run = campaign.runs.order_by("-id").first()
    return Response(CampaignOutput(campaign).data, status=code)


class CampaignListCreateApi(MerchantApi):
    class InputSerializer(CampaignFields):
        pass

    @api_operation(
        summary="List campaigns",
        description="The merchant's campaigns, newest first, each with its latest run. Reads only.",
        responses=CampaignOutput(many=True),
        tags=TAGS,
    )
    def get(self, request):
        return paginated_response(
            self,
            request,
            selectors.campaign_list(merchant=self.merchant),
            CampaignOutput,
            complete=_with_last_run,
        )

    @api_operation(
        summary="Add a campaign",
        description="A coupon template sent to an audience (keys ANDed, see `audience`): by hand "
        "(run now), once at `run_at`, or on a cron `schedule` in the campaign's `timezone`. The "
        "template must be the merchant's; an unknown audience key or a bad value is a 400 on "
        "`audience.<key>`. Writes the campaign and its schedule; issues nothing.",
        request=InputSerializer,
        responses={201: CampaignOutput},
        errors=TERMS_ERRORS,
        tags=TAGS,
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        campaign = campaigns.campaign_create(merchant=self.merchant, **data)
        campaign.last_run = None
        return _answer(campaign, code=status.HTTP_201_CREATED)


class CampaignDetailApi(MerchantApi):
    class InputSerializer(CampaignFields):
        pass

    @api_operation(
        summary="Read a campaign",
        description="One of the merchant's campaigns with its latest run. Reads only.",
        parameters=ID_PARAMETERS,
        responses=CampaignOutput,
        errors=[errors.CampaignNotFound],
        tags=TAGS,
    )
    def get(self, request, id: str):
        return _answer(selectors.campaign_get(merchant=self.merchant, campaign_id=id))

    @api_operation(
        summary="Change a campaign",
        description="Change any field; `active: false` pauses the schedule (and `true` resumes it). "
        'A new `schedule` replaces a `run_at` and the other way round; `schedule: ""` removes it. '
        "Runs already made are not touched.",
        parameters=ID_PARAMETERS,
        request=InputSerializer(partial=True),
        responses=CampaignOutput,
        errors=[errors.CampaignNotFound, *TERMS_ERRORS],
        tags=TAGS,
    )
    def patch(self, request, id: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        data = validated(self.InputSerializer, request, partial=True)
        campaign = campaigns.campaign_update(campaign=campaign, **data)
        return _answer(campaign)


class AudienceOutput(serializers.Serializer):
    size = serializers.IntegerField()


class CampaignAudienceApi(MerchantApi):
    @api_operation(
        summary="Count a campaign's audience",
        description="The dry run: how many shoppers the audience holds now. Writes nothing.",
        parameters=ID_PARAMETERS,
        responses=AudienceOutput,
        errors=[errors.CampaignNotFound, *AUDIENCE_ERRORS],
        tags=TAGS,
    )
    def get(self, request, id: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        size = audiences.audience_size(merchant=self.merchant, audience=campaign.audience)
        return Response(AudienceOutput({"size": size}).data)


class CampaignRunCreateApi(MerchantApi):
    @api_operation(
        summary="Run a campaign now",
        description="Queues a run; the workers issue it in chunks of 5,000 shoppers, each "
        "coupon once per run and shopper, within the template's stock and per-shopper limit. "
        "Follow it at `GET .../runs/{run}`. 409 while another run of the campaign is unfinished "
        "or when the template is switched off or past its window.",
        parameters=ID_PARAMETERS,
        request=None,
        responses={202: RunAcceptedOutput},
        errors=[
            errors.CampaignNotFound,
            errors.CampaignRunInProgress,
            errors.CampaignTemplateNotIssuable,
            *AUDIENCE_ERRORS,
        ],
        tags=TAGS,
    )
    def post(self, request, id: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        run = campaign_runs.campaign_run_request(campaign=campaign)
        return Response(RunAcceptedOutput(run).data, status=status.HTTP_202_ACCEPTED)


class CampaignRunDetailApi(MerchantApi):
    @api_operation(
        summary="Read a campaign run",
        description="A run's progress: its status, audience size, issued and skipped counts (with "
        "why: limit, stock) and chunks done. Reads only.",
        parameters=RUN_PARAMETERS,
        responses=RunOutput,
        errors=[errors.CampaignNotFound, errors.CampaignRunNotFound],
        tags=TAGS,
    )
    def get(self, request, id: str, run: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        return Response(RunOutput(selectors.campaign_run_get(campaign=campaign, run_id=run)).data)


class CampaignRunResumeApi(MerchantApi):
    @api_operation(
        summary="Resume a campaign run",
        description="Sends again the chunks of an unfinished or failed run that are not done (after "
        "a worker died, say). Chunks already done are not issued twice, so the run ends with the "
        "coupons of an undisturbed one. 409 for a finished run.",
        parameters=RUN_PARAMETERS,
        request=None,
        responses={202: RunAcceptedOutput},
        errors=[
            errors.CampaignNotFound,
            errors.CampaignRunNotFound,
            errors.CampaignRunNotResumable,
            errors.CampaignRunInProgress,
        ],
        tags=TAGS,
    )
    def post(self, request, id: str, run: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        found = selectors.campaign_run_get(campaign=campaign, run_id=run)
        resumed = campaign_runs.campaign_run_resume(run=found)
        return Response(RunAcceptedOutput(resumed).data, status=status.HTTP_202_ACCEPTED)


class CampaignRunCancelApi(MerchantApi):
    @api_operation(
        summary="Cancel a campaign run",
        description="Stops a queued or running run: its chunks that start after the cancel issue "
        "nothing, a chunk already under way finishes; the coupons issued stay (they are counted in "
        "`issued`). The run ends `cancelled` and cannot be resumed; the campaign can run again. "
        "409 for a run that has ended (done, failed or cancelled).",
        parameters=RUN_PARAMETERS,
        request=None,
        responses={200: RunOutput},
        errors=[errors.CampaignNotFound, errors.CampaignRunNotFound, errors.CampaignRunNotCancellable],
        tags=TAGS,
    )
    def post(self, request, id: str, run: str):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        found = selectors.campaign_run_get(campaign=campaign, run_id=run)
        return Response(RunOutput(campaign_runs.campaign_run_cancel(run=found)).data)
