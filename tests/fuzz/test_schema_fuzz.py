"""schemathesis against every operation of the schema, as each caller, on data that exists.

For each operation of the OpenAPI schema (``/api/schema/``, generated in process),
Hypothesis draws requests from schemathesis' strategies, in positive mode (what the
schema allows) and in negative mode (what it refuses: wrong types, out of range,
missing fields, odd strings, NUL bytes), and sends them through the WSGI application
with the credential the operation's security names: merchant ``alfa``'s API key or its
shopper's token (tests/tenants.py builds alfa, and a second tenant ``zeta`` so that
lists and lookups have someone else's rows beside). An operation with path parameters
is fuzzed twice: with drawn parameters, and with parameters naming alfa's real rows
(``PATH_OBJECTS``, shared with the tenancy sweep), so that the request reaches the code
behind the lookup.

Every answer is checked with all of schemathesis' checks: no 5xx; status code, headers
and body as the schema documents them (errors included, in the contract's shape); a
negative request refused with a 4xx; a request without credentials refused. A
schema-valid request may be refused only for a domain reason, never for its shape
(tests/api/test_conformance.py explains ``SHAPE_CODES``).

Bounded and deterministic (``derandomize``), so that CI finds the same thing every
time: ``FUZZ_EXAMPLES`` examples per operation, mode and parameters (10 by default).
``make fuzz`` runs 200. Each failure it found is kept as a plain test beside the code it
concerns (tests/fuzz/test_found.py lists them).
"""

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.api.test_conformance import refused_positive_only_for_domain_reasons
from tests.fuzz.callers import authorization, schema_in_process
from tests.tenants import PATH_OBJECTS, path_parameters

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # JSON on the wire is UTF-8: no lone surrogates (RFC 8259).
            "codec": "utf-8",
            # The caller's credential is set per operation; ignored_auth checks that each
            # route refuses a request without one.
            "with-security-parameters": False,
        },
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409"]}},
    }
)
SCHEMA = schema_in_process(CONFIG)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

CASES = [
    pytest.param(operation, mode, seeded, id=f"{operation.label} {mode.value}{' seeded' if seeded else ''}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for seeded in ((False, True) if operation.path_parameters else (False,))
]


@pytest.mark.parametrize(("operation", "mode", "seeded"), CASES)
def test_every_answer_is_as_the_schema_says(world, operation, mode, seeded):
    fixed = None
    if seeded:
        fixed = {
            name: PATH_OBJECTS[(collection, name)](world)
            for collection, name in path_parameters(operation.path)
        }
    credential = authorization(world, operation)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        headers = {"Authorization": credential} if credential else None
        case.call_and_validate(headers=headers, additional_checks=[refused_positive_only_for_domain_reasons])

    try:
        run()
    except Unsatisfiable:
        # Negative mode of an operation whose every input is free text (a cursor, say).
        pytest.skip("nothing this operation takes can be made invalid by its schema")
