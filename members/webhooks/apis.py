"""``/api/v1/merchant/webhooks``: the merchant's endpoints, their secrets and delivery logs."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import paginated_response, validated
from core.fields import BoundedListField, TextField
from core.schema import api_operation
from members.authentication import MerchantApi
from members.webhooks import endpoints, errors, selectors
from members.webhooks.models import EventType, WebhookEndpoint

ID_PARAMETERS = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="The endpoint's id.")]
TAGS = ["merchant"]


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it was turned off; empty while active.")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then the previous secret signs too (a rotation)."
    )
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedOutput(WebhookEndpointOutput):
    secret = serializers.CharField(help_text="The signing secret; shown only in this answer.")


class WebhookListCreateApi(MerchantApi):
    class InputSerializer(serializers.Serializer):
        # Text here; what a URL must be is the service's rule (webhook_url_not_allowed).
        url = TextField(
            max_length=WebhookEndpoint._meta.get_field("url").max_length,
            help_text="https:// on a public address (plain http:// only where the server allows it).",
        )
        events = BoundedListField(
            child=serializers.ChoiceField(choices=EventType.choices),
            min_length=1,
            max_length=len(EventType.values),
            help_text="The event types to receive.",
        )
        secret = TextField(
            min_length=24,
            max_length=WebhookEndpoint._meta.get_field("secret").max_length,
            required=False,
            help_text="Your own signing secret; by default one is generated and answered once.",
        )

    @api_operation(
        summary="List webhook endpoints",
        description="The merchant's webhook endpoints, newest first, with the event types each "
        "receives and, for a disabled one, why. Secrets are not shown. Reads only.",
        responses=WebhookEndpointOutput(many=True),
        tags=TAGS,
    )
    def get(self, request):
        found = selectors.webhook_endpoint_list(merchant=self.merchant)
        return paginated_response(self, request, found, WebhookEndpointOutput)

    @api_operation(
        summary="Register a webhook endpoint",
        description="Events of the types given are POSTed to `url` as JSON `{id, type, created_at, "
        "merchant, data}`, signed in the `Fanbase-Signature` header (`t=<unix>,v1=<HMAC-SHA256 of "
        '"<t>.<body>" with the secret, hex>`; see docs/webhooks.md), at least once (dedupe on `id`), '
        "retried with backoff for a day. An endpoint failing for a day is disabled with the reason. "
        "A URL that is not https or names a private, loopback or link-local address is a 400 "
        "`webhook_url_not_allowed`; more than 20 endpoints is a 409.",
        request=InputSerializer,
        responses={201: WebhookEndpointCreatedOutput},
        errors=[errors.WebhookUrlNotAllowed.on("url"), errors.WebhookEndpointLimitReached],
        tags=TAGS,
    )
    def post(self, request):
        data = validated(self.InputSerializer, request)
        endpoint = endpoints.webhook_endpoint_create(merchant=self.merchant, **data)
        return Response(WebhookEndpointCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDeleteApi(MerchantApi):
    @api_operation(
        summary="Delete a webhook endpoint",
        description="The endpoint stops receiving events at once; its delivery log goes with it. "
        "Another merchant's or an unknown id is a 404.",
        parameters=ID_PARAMETERS,
        responses={204: None},
        errors=[errors.WebhookEndpointNotFound],
        tags=TAGS,
    )
    def delete(self, request, id: str):
        endpoint = selectors.webhook_endpoint_get(merchant=self.merchant, endpoint_id=id)
        endpoints.webhook_endpoint_delete(merchant=self.merchant, endpoint_id=endpoint.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateApi(MerchantApi):
    @api_operation(
        summary="Rotate a webhook endpoint's secret",
        description="A new secret signs from now on; the previous one also signs for 24 hours "
        "(each delivery carries both signatures), so the receiver can switch without losing any. "
        "The new secret is answered once.",
        parameters=ID_PARAMETERS,
        request=None,
        responses={200: WebhookEndpointCreatedOutput},
        errors=[errors.WebhookEndpointNotFound],
        tags=TAGS,
    )
    def post(self, request, id: str):
        endpoint = selectors.webhook_endpoint_get(merchant=self.merchant, endpoint_id=id)
        endpoint = endpoints.webhook_secret_rotate(endpoint=endpoint)
        return Response(WebhookEndpointCreatedOutput(endpoint).data)


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField(source="event.event_id")
    type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=["pending", "sending", "delivered", "failed"])
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class WebhookDeliveryListApi(MerchantApi):
    @api_operation(
        summary="An endpoint's delivery log",
        description="Deliveries to the endpoint, newest first: status, attempts, the last answer "
        "or error. Another merchant's or an unknown id is a 404. Reads only.",
        parameters=ID_PARAMETERS,
        responses=WebhookDeliveryOutput(many=True),
        errors=[errors.WebhookEndpointNotFound],
        tags=TAGS,
    )
    def get(self, request, id: str):
        endpoint = selectors.webhook_endpoint_get(merchant=self.merchant, endpoint_id=id)
        deliveries = selectors.webhook_delivery_list(endpoint=endpoint)
        return paginated_response(self, request, deliveries, WebhookDeliveryOutput)
