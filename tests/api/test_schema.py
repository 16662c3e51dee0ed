"""The schema reads as documentation for integrators and declares what the server answers."""

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary_and_a_description_for_integrators(schema):
    missing = [name for name, op in operations(schema) if not op.get("summary") or not op.get("description")]
    internal = [name for name, op in operations(schema) if "scoped to" in op.get("description", "")]

    assert missing == []
    assert internal == []


def test_every_authenticated_operation_declares_its_401_and_every_body_its_400_and_415(schema):
    for name, op in operations(schema):
        answers = op["responses"]
        if op.get("security"):
            assert "401" in answers, name
        if "requestBody" in op:
            assert {"400", "415"} <= set(answers), name


def test_every_list_is_declared_as_its_envelope_with_cursor_and_page_size(schema):
    lists = 0
    for name, op in operations(schema):
        answer = (
            op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        )
        ref = answer.get("$ref", "")
        if not ref.split("/")[-1].startswith("Paginated"):
            continue
        lists += 1
        component = schema["components"]["schemas"][ref.split("/")[-1]]
        assert set(component["required"]) == {"next", "previous", "results"}, name
        assert {"cursor", "page_size"} <= {p["name"] for p in op["parameters"]}, name
    assert lists >= 11


def test_the_main_flows_carry_examples(schema):
    flows = [
        ("/api/v1/merchant/orders", "post"),
        ("/api/v1/merchant/orders/{external_id}/refunds", "post"),
        ("/api/v1/merchant/coupons/validate", "post"),
        ("/api/v1/me/coupons/exchange", "post"),
        ("/api/v1/me/wallet", "get"),
    ]
    for path, method in flows:
        op = schema["paths"][path][method]
        bodies = [op.get("requestBody", {}), *list(op["responses"].values())]
        assert any(media.get("examples") for body in bodies for media in body.get("content", {}).values()), (
            path
        )
    replay = schema["paths"]["/api/v1/merchant/orders"]["post"]["responses"]["200"]
    assert replay["content"]["application/json"]["examples"]


def test_an_order_declares_the_codes_that_matter_to_a_shop_system(schema):
    answers = schema["paths"]["/api/v1/merchant/orders"]["post"]["responses"]

    conflict = answers["409"]["content"]["application/json"]["schema"]
    assert conflict["properties"]["errors"]["items"]["properties"]["code"]["enum"] == ["order_conflict"]
    validation = answers["400"]["content"]["application/json"]["schema"]["oneOf"][0]
    codes = {
        code
        for item in validation["properties"]["errors"]["items"]["anyOf"]
        for code in item["properties"]["code"]["enum"]
    }
    assert {"unknown_sku", "coupon_expired", "coupon_min_spend", "unknown_account"} <= codes


def test_money_input_is_described_as_the_server_takes_it(schema):
    line = schema["components"]["schemas"]["OrderLineInput"]["properties"]
    lines = schema["components"]["schemas"]["OrderListCreateInput"]["properties"]["lines"]

    assert line["unit_price"]["pattern"] == r"^0*[0-9]{1,10}(\.[0-9]{1,2})?$"
    assert line["sku"]["minLength"] == 1
    assert lines["minItems"] == 1
