"""The schema's links (loyalty/openapi_links.py) name real operations, parameters and fields."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from loyalty.openapi_links import LINKS

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def by_id(schema):
    return {
        operation["operationId"]: operation
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }


def resolved(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def answered_field(schema, body, pointer):
    """The body schema's property at the JSON pointer, if every step is a required property."""
    node = body
    for name in pointer.split("/"):
        node = resolved(schema, node)
        if name not in node.get("required", ()):
            return None
        node = node["properties"][name]
    return resolved(schema, node)


def leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def path_parameters(operation):
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}


@pytest.mark.parametrize("link", LINKS, ids=lambda link: f"{link.source} -> {link.name}")
def test_each_link_takes_a_field_the_answer_has_into_a_parameter_the_target_takes(schema, by_id, link):
    source, target = by_id[link.source], by_id[link.target]
    answer = source["responses"][link.status]
    body = answer["content"]["application/json"]["schema"]

    assert answer["links"][link.name]["operationId"] == link.target
    # Every path parameter of the target is given, and nothing else.
    assert set(link.parameters) == set(path_parameters(target))
    for name, value in [*link.parameters.items(), *((None, leaf) for leaf in leaves(link.body))]:
        if value.startswith("$request.path."):
            assert value.removeprefix("$request.path.") in path_parameters(source), (name, value)
            continue
        field = answered_field(schema, body, value)
        assert field is not None, f"{link.source} {link.status} does not always answer {value!r}"
        assert field.get("type") in {"string", "integer"}, (value, field)
    if link.body:
        taken = resolved(schema, target["requestBody"]["content"]["application/json"]["schema"])
        assert set(link.body) <= set(taken["properties"]), link.body


def test_the_creations_a_caller_follows_up_by_id_are_linked(by_id):
    # given the answers whose id the next call takes (issue 16)
    expected = {
        "merchant_coupon_templates_create": {"merchant_coupon_templates_retrieve"},
        "merchant_webhooks_create": {
            "merchant_webhooks_destroy",
            "merchant_webhooks_rotate_secret_create",
            "merchant_webhooks_deliveries_list",
        },
        "merchant_orders_create": {"merchant_orders_retrieve", "merchant_orders_refunds_create"},
        "merchant_campaigns_create": {"merchant_campaigns_retrieve", "merchant_campaigns_run_create"},
        "merchant_products_create": {"merchant_products_retrieve"},
    }

    for source, targets in expected.items():
        linked = {
            link["operationId"]
            for answer in by_id[source]["responses"].values()
            for link in answer.get("links", {}).values()
        }
        assert targets <= linked, source
