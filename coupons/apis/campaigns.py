"""Campaigns (merchant): create, list, read, change; the audience's dry run; runs and progress."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import AwareDateTimeField, model_field
from coupons import audiences, selectors
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

    @extend_schema(responses=CampaignOutput(many=True), tags=TAGS)
    def get(self, request):
        return paginated_response(
            self,
            request,
            selectors.campaign_list(merchant=self.merchant),
            CampaignOutput,
            complete=_with_last_run,
        )

    @extend_schema(request=InputSerializer, responses={201: CampaignOutput}, tags=TAGS)
    def post(self, request):
        data = validated(self.InputSerializer, request)
        campaign = campaigns.campaign_create(merchant=self.merchant, **data)
        campaign.last_run = None
        return _answer(campaign, code=status.HTTP_201_CREATED)


class CampaignDetailApi(MerchantApi):
    class InputSerializer(CampaignFields):
        pass

    @extend_schema(parameters=ID_PARAMETERS, responses=CampaignOutput, tags=TAGS)
    def get(self, request, id: int):
        return _answer(selectors.campaign_get(merchant=self.merchant, campaign_id=id))

    @extend_schema(
        parameters=ID_PARAMETERS,
        request=InputSerializer(partial=True),
        responses=CampaignOutput,
        tags=TAGS,
        description="Change any field; `active: false` pauses the schedule. A new `schedule` replaces "
        "a `run_at` and the other way round.",
    )
    def patch(self, request, id: int):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        campaign = campaigns.campaign_update(campaign=campaign, **serializer.validated_data)
        return _answer(campaign)


class AudienceOutput(serializers.Serializer):
    size = serializers.IntegerField()


class CampaignAudienceApi(MerchantApi):
    @extend_schema(
        parameters=ID_PARAMETERS,
        responses=AudienceOutput,
        tags=TAGS,
        description="The dry run: how many shoppers the audience holds now. Writes nothing.",
    )
    def get(self, request, id: int):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        size = audiences.audience_size(merchant=self.merchant, audience=campaign.audience)
        return Response(AudienceOutput({"size": size}).data)


class CampaignRunCreateApi(MerchantApi):
    @extend_schema(
        parameters=ID_PARAMETERS,
        request=None,
        responses={202: RunAcceptedOutput},
        tags=TAGS,
        description="Run now: the run is queued and the workers issue it in chunks; "
        "follow it at GET .../runs/{run}. 409 while another run of the campaign is unfinished.",
    )
    def post(self, request, id: int):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        run = campaign_runs.campaign_run_request(campaign=campaign)
        return Response(RunAcceptedOutput(run).data, status=status.HTTP_202_ACCEPTED)


class CampaignRunDetailApi(MerchantApi):
    @extend_schema(parameters=RUN_PARAMETERS, responses=RunOutput, tags=TAGS, description="A run's progress.")
    def get(self, request, id: int, run: int):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        return Response(RunOutput(selectors.campaign_run_get(campaign=campaign, run_id=run)).data)


class CampaignRunResumeApi(MerchantApi):
    @extend_schema(
        parameters=RUN_PARAMETERS,
        request=None,
        responses={202: RunAcceptedOutput},
        tags=TAGS,
        description="Send again the chunks of an unfinished or failed run that are not done (after a "
        "worker died, say). Chunks already done are not issued twice.",
    )
    def post(self, request, id: int, run: int):
        campaign = selectors.campaign_get(merchant=self.merchant, campaign_id=id)
        found = selectors.campaign_run_get(campaign=campaign, run_id=run)
        resumed = campaign_runs.campaign_run_resume(run=found)
        return Response(RunAcceptedOutput(resumed).data, status=status.HTTP_202_ACCEPTED)
