"""schemathesis' state machine over the schema's links: create, then use what was created.

The per-operation fuzz (test_schema_fuzz.py) sends one request at a time; this one
follows the schema's links (loyalty/openapi_links.py): a scenario starts with a call
that creates something (a coupon template, a webhook, an order, a campaign, a
product, ...) and goes on with calls that take its id from the answer (its detail, its
update, its run, its refund, its deletion), up to ``STEPS`` calls. Links are the only
transitions: schemathesis' own inference is off, so the table is what is tested.

Same callers and checks as the per-operation fuzz: alfa's API key or its shopper's
token as the operation's security names, on the seeded world of tests/tenants.py; all
of schemathesis' checks (no 5xx, answers as documented, and the stateful ones: what a
201 created can be read back, what a DELETE removed is gone) plus a schema-valid
request refused only for a domain reason. Each scenario starts from the seeded world:
it runs inside a savepoint rolled back at its end.

Bounded and deterministic: ``STATEFUL_EXAMPLES`` scenarios (15 by default) of at
most ``STEPS`` calls; ``make fuzz`` raises the count.
"""

import os

from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig

from tests.api.test_conformance import refused_positive_only_for_domain_reasons
from tests.fuzz.callers import authorization, schema_in_process

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "15"))
STEPS = 5

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # JSON on the wire is UTF-8: no lone surrogates (RFC 8259).
            "codec": "utf-8",
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"inference": {"algorithms": []}}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409"]}},
    }
)

SCHEMA = schema_in_process(CONFIG)


class Workflow(SCHEMA.as_state_machine()):
    world = None  # the seeded tenant, set by the test

    def setup(self):
        self.savepoint = transaction.savepoint()

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    def get_call_kwargs(self, case):
        credential = authorization(self.world, case.operation)
        return {"headers": {"Authorization": credential}} if credential else {}

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        # As call_and_validate does: the credential named as given (ignored_auth then
        # checks that the operation refuses the request without it, not that it was "generated").
        case.validate_response(
            response,
            headers=kwargs.get("headers"),
            additional_checks=[refused_positive_only_for_domain_reasons],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_linked_calls_answer_as_the_schema_says(world):
    Workflow.world = world
    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
