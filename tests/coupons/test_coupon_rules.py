"""coupons.rules: the discount and rejection rules, on unsaved rows (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from coupons import errors
from coupons.models import Coupon, CouponTemplate
from coupons.rules import CartLine, check, discount_for, evaluate, in_scope

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SHOPPER = 7
SHOES, SHIRTS = 1, 2  # category ids


def template(pk=1, **terms) -> CouponTemplate:
    terms = {"kind": "fixed", "value": Decimal("5"), "min_spend": Decimal("0"), "scope": "all", **terms}
    return CouponTemplate(pk=pk, **terms)


def coupon(code="C1", tmpl=None, **fields) -> Coupon:
    fields = {
        "shopper_id": SHOPPER,
        "state": Coupon.State.ISSUED,
        "expires_at": NOW + timedelta(days=1),
        **fields,
    }
    return Coupon(code=code, template=tmpl or template(), **fields)


def line(product_id=10, category_id=SHOES, quantity=1, unit_price="10.00") -> CartLine:
    return CartLine(
        product_id=product_id, category_id=category_id, quantity=quantity, unit_price=Decimal(unit_price)
    )


def run(codes, coupons, lines, template_products=None, shopper_id=SHOPPER):
    return evaluate(
        codes=codes,
        coupons={c.code: c for c in coupons},
        template_products=template_products or {},
        shopper_id=shopper_id,
        lines=lines,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("kind", "value", "cap", "scoped", "expected"),
    [
        ("percent", "10", None, "80.00", "8.00"),
        ("percent", "15", None, "33.33", "5.00"),  # 4.9995 rounds half up to the cent
        ("percent", "50", "20", "100.00", "20.00"),  # capped by max_discount
        ("percent", "50", "20", "30.00", "15.00"),  # cap not reached
        ("percent", "100", None, "12.34", "12.34"),
        ("fixed", "5", None, "80.00", "5"),
        ("fixed", "50", None, "30.00", "30.00"),  # never above the lines in scope
        ("fixed", "30", None, "30.00", "30"),
    ],
)
def test_discount_for_terms_and_scoped_subtotal(kind, value, cap, scoped, expected):
    terms = template(kind=kind, value=Decimal(value), max_discount=Decimal(cap) if cap else None)

    assert discount_for(terms, Decimal(scoped)) == Decimal(expected)


@pytest.mark.parametrize(
    ("scope", "category_id", "product_ids", "the_line", "expected"),
    [
        ("all", None, frozenset(), line(), True),
        ("category", SHOES, frozenset(), line(category_id=SHOES), True),
        ("category", SHOES, frozenset(), line(category_id=SHIRTS), False),
        ("category", SHOES, frozenset(), line(category_id=None), False),
        ("products", None, frozenset({10, 11}), line(product_id=11), True),
        ("products", None, frozenset({10, 11}), line(product_id=12), False),
        ("products", None, frozenset(), line(product_id=10), False),
    ],
)
def test_in_scope(scope, category_id, product_ids, the_line, expected):
    assert in_scope(template(scope=scope, category_id=category_id), the_line, product_ids) is expected


def test_percent_discount_is_computed_on_the_lines_in_scope_only():
    shoes_20_percent = template(kind="percent", value=Decimal("20"), scope="category", category_id=SHOES)
    lines = [line(10, SHOES, 2, "25.00"), line(11, SHIRTS, 1, "100.00")]

    result = run(["C1"], [coupon(tmpl=shoes_20_percent)], lines)

    assert result.subtotal == Decimal("150.00")
    assert result.discount == Decimal("10.00")  # 20% of the 50.00 of shoes
    assert result.total == Decimal("140.00")


def test_fixed_discount_is_capped_by_the_scoped_subtotal_not_the_order():
    ten_off_listed = template(value=Decimal("10"), scope="products")
    lines = [line(10, quantity=1, unit_price="4.00"), line(11, unit_price="50.00")]

    result = run(["C1"], [coupon(tmpl=ten_off_listed)], lines, template_products={1: frozenset({10})})

    assert result.discount == Decimal("4.00")
    assert result.total == Decimal("50.00")


@pytest.mark.parametrize(
    ("min_spend", "applies"),
    [("50.00", True), ("50.01", False)],
)
def test_min_spend_counts_the_lines_in_scope_only(min_spend, applies):
    shoes = template(scope="category", category_id=SHOES, min_spend=Decimal(min_spend))
    lines = [line(10, SHOES, 5, "10.00"), line(11, SHIRTS, 1, "500.00")]

    result = run(["C1"], [coupon(tmpl=shoes)], lines)

    if applies:
        assert [c.code for c, _ in result.applied] == ["C1"]
    else:
        assert [(code, r.code) for code, r in result.rejected] == [("C1", "coupon_min_spend")]
        assert result.discount == Decimal("0.00")


@pytest.mark.parametrize(
    ("the_coupon", "shopper_id", "reason"),
    [
        (None, SHOPPER, "coupon_not_found"),
        (coupon(), SHOPPER + 1, "coupon_not_owned"),
        (coupon(), None, "coupon_not_owned"),
        (coupon(state=Coupon.State.REDEEMED, redeemed_at=NOW), SHOPPER, "coupon_redeemed"),
        (coupon(state=Coupon.State.VOID), SHOPPER, "coupon_void"),
        (coupon(state=Coupon.State.EXPIRED), SHOPPER, "coupon_expired"),
        (coupon(expires_at=NOW), SHOPPER, "coupon_expired"),  # issued, but its time is up
        (coupon(valid_from=NOW + timedelta(seconds=1)), SHOPPER, "coupon_not_started"),
        (coupon(tmpl=template(scope="category", category_id=SHIRTS)), SHOPPER, "coupon_out_of_scope"),
        (coupon(tmpl=template(min_spend=Decimal("10.01"))), SHOPPER, "coupon_min_spend"),
    ],
)
def test_check_gives_the_stable_rejection_code(the_coupon, shopper_id, reason):
    with pytest.raises(errors.CouponRejected) as caught:
        check(the_coupon, shopper_id=shopper_id, lines=[line()], product_ids=frozenset(), now=NOW)

    assert caught.value.code == reason


def test_a_started_coupon_within_its_window_applies():
    started = coupon(valid_from=NOW - timedelta(days=1))

    assert check(started, shopper_id=SHOPPER, lines=[line()], product_ids=frozenset(), now=NOW) == 5


def test_a_second_coupon_is_not_stackable_by_default():
    first, second = coupon("A"), coupon("B", template(pk=2))

    result = run(["A", "B"], [first, second], [line(unit_price="100.00")])

    assert [c.code for c, _ in result.applied] == ["A"]
    assert [(code, r.code) for code, r in result.rejected] == [("B", "coupon_not_stackable")]
    assert result.discount == Decimal("5.00")


@pytest.mark.parametrize(("first_stacks", "second_stacks"), [(True, False), (False, True)])
def test_stacking_needs_every_coupon_used_together_to_be_stackable(first_stacks, second_stacks):
    first = coupon("A", template(pk=1, stackable=first_stacks))
    second = coupon("B", template(pk=2, stackable=second_stacks))

    result = run(["A", "B"], [first, second], [line(unit_price="100.00")])

    assert [(code, r.code) for code, r in result.rejected] == [("B", "coupon_not_stackable")]


def test_stackable_coupons_add_up_but_never_beyond_the_subtotal():
    first = coupon("A", template(pk=1, stackable=True, value=Decimal("6")))
    second = coupon("B", template(pk=2, stackable=True, value=Decimal("6")))

    result = run(["A", "B"], [first, second], [line(unit_price="10.00")])

    assert [c.code for c, _ in result.applied] == ["A", "B"]
    assert result.discount == Decimal("10.00")
    assert result.total == Decimal("0.00")


def test_codes_apply_in_the_order_given_and_unknown_ones_are_reported():
    result = run(["NOPE", "C1"], [coupon()], [line()])

    assert [c.code for c, _ in result.applied] == ["C1"]
    assert [(code, r.code) for code, r in result.rejected] == [("NOPE", "coupon_not_found")]


def test_no_codes_no_discount():
    result = run([], [], [line(quantity=3, unit_price="3.33")])

    assert (result.subtotal, result.discount, result.total) == (
        Decimal("9.99"),
        Decimal("0.00"),
        Decimal("9.99"),
    )


def test_stacked_coupons_of_one_scope_never_take_more_than_its_lines():
    # Two stackable 10.00-off coupons for shoes on 15.00 of shoes and 100.00 of shirts:
    # the second may take only the 5.00 of shoes the first left, never from the shirts.
    shoes = {"stackable": True, "value": Decimal("10"), "scope": "category", "category_id": SHOES}
    first, second = coupon("A", template(pk=1, **shoes)), coupon("B", template(pk=2, **shoes))
    lines = [line(10, SHOES, 1, "15.00"), line(11, SHIRTS, 1, "100.00")]

    result = run(["A", "B"], [first, second], lines)

    assert [(c.code, d) for c, d in result.applied] == [("A", Decimal("10")), ("B", Decimal("5.00"))]
    assert result.discount == Decimal("15.00")
    assert result.total == Decimal("100.00")


def test_stacked_coupons_of_different_scopes_each_take_from_their_own_lines():
    shoes = coupon(
        "A", template(pk=1, stackable=True, value=Decimal("10"), scope="category", category_id=SHOES)
    )
    everything = coupon("B", template(pk=2, stackable=True, value=Decimal("50")))
    lines = [line(10, SHOES, 1, "15.00"), line(11, SHIRTS, 1, "20.00")]

    result = run(["A", "B"], [shoes, everything], lines)

    # Shoes give 10.00 to A; B takes the 5.00 of shoes and the 20.00 of shirts that are left.
    assert [d for _, d in result.applied] == [Decimal("10"), Decimal("25.00")]
    assert result.total == Decimal("0.00")
