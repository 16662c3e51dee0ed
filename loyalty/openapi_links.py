"""OpenAPI links: which answer's fields the next call takes (a drf-spectacular hook).

drf-spectacular 0.30 has no argument for a response's ``links``, so this
postprocessing hook adds them by operationId from one table, ``LINKS``. A generated
client reads them as "after creating X, call Y with X's id"; schemathesis' state
machine follows them (tests/fuzz/test_stateful_fuzz.py). tests/api/test_links.py
checks that every link names a real operation, a real parameter of it, and a field the
answer really has.

A value is a JSON pointer into the answer's body (``"id"``, ``"merchant/slug"``) or a
runtime expression used as is (``"$request.path.id"``). ``body`` is merged into the
target's request body; its leaves are such values (``{"lines": [{"sku": "sku"}]}``).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    source: str  # operationId whose answer is read
    status: str  # that answer's status code
    name: str
    target: str  # operationId called next
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict = field(default_factory=dict)

    def definition(self) -> dict:
        entry = {"operationId": self.target}
        if self.parameters:
            entry["parameters"] = {name: expression(value) for name, value in self.parameters.items()}
        if self.body:
            entry["requestBody"] = expression(self.body)
        return entry


def expression(value):
    if isinstance(value, dict):
        return {name: expression(item) for name, item in value.items()}
    if isinstance(value, list):
        return [expression(item) for item in value]
    return value if value.startswith("$") else f"$response.body#/{value}"


def _each(source, status, targets, **values):
    return [Link(source, status, name, target, **values) for name, target in targets]


LINKS = (
    *_each(
        "merchant_coupon_templates_create",
        "201",
        [("GetCouponTemplate", "merchant_coupon_templates_retrieve")],
        parameters={"template_id": "id"},
    ),
    Link(
        "merchant_coupon_templates_create",
        "201",
        "CreateCampaignOfTemplate",
        "merchant_campaigns_create",
        body={"template": "id"},
    ),
    *_each(
        "merchant_webhooks_create",
        "201",
        [
            ("DeleteWebhook", "merchant_webhooks_destroy"),
            ("RotateWebhookSecret", "merchant_webhooks_rotate_secret_create"),
            ("ListWebhookDeliveries", "merchant_webhooks_deliveries_list"),
        ],
        parameters={"id": "id"},
    ),
    *_each(
        "merchant_orders_create",
        "201",
        [("GetOrder", "merchant_orders_retrieve"), ("RefundOrder", "merchant_orders_refunds_create")],
        parameters={"external_id": "external_id"},
    ),
    *_each(
        "merchant_campaigns_create",
        "201",
        [
            ("GetCampaign", "merchant_campaigns_retrieve"),
            ("UpdateCampaign", "merchant_campaigns_partial_update"),
            ("GetCampaignAudience", "merchant_campaigns_audience_retrieve"),
            ("RunCampaign", "merchant_campaigns_run_create"),
        ],
        parameters={"id": "id"},
    ),
    *_each(
        "merchant_campaigns_run_create",
        "202",
        [
            ("GetCampaignRun", "merchant_campaigns_runs_retrieve"),
            ("CancelCampaignRun", "merchant_campaigns_runs_cancel_create"),
            ("ResumeCampaignRun", "merchant_campaigns_runs_resume_create"),
        ],
        parameters={"id": "$request.path.id", "run": "run"},
    ),
    *_each(
        "merchant_products_create",
        "201",
        [
            ("GetProduct", "merchant_products_retrieve"),
            ("UpdateProduct", "merchant_products_partial_update"),
            # Not its rollout: an unpublished product has none (a documented 404), and a
            # link says the target exists once the source answered.
        ],
        parameters={"sku": "sku"},
    ),
    Link(
        "merchant_products_create",
        "201",
        "OrderTheProduct",
        "merchant_orders_create",
        body={"lines": [{"sku": "sku"}]},
    ),
    *_each(
        "merchant_accounts_create",
        "201",
        [("GetAccountStats", "merchant_accounts_stats_list")],
        parameters={"handle": "handle"},
    ),
    *_each(
        "me_memberships_create",
        "201",
        [
            ("ListMembershipPoints", "me_memberships_points_list"),
            ("LeaveMembership", "me_memberships_destroy"),
        ],
        parameters={"merchant": "merchant/slug"},
    ),
    *_each(
        "me_follows_create",
        "201",
        [("Unfollow", "me_follows_destroy")],
        parameters={"handle": "account"},
    ),
)


def add_links(result, generator, request, public):
    """Postprocessing hook: each link in ``LINKS`` on its source operation's answer."""
    answers = {
        operation["operationId"]: operation["responses"]
        for item in result["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for link in LINKS:
        answer = answers[link.source][link.status]
        answer.setdefault("links", {})[link.name] = link.definition()
    return result
