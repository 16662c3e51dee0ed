"""Orders in the admin: staff read their merchant's orders, lines included; they never write them.

Tenancy (lists, 404s, choices) is walked for every admin in tests/test_admin_tenancy.py.
"""

from django.urls import reverse

from storefront.models import Order
from tests.conftest import staff_client
from tests.storefront.factories import OrderFactory, OrderLineFactory, ProductFactory, RefundFactory


def test_staff_cannot_add_or_edit_orders(merchant):
    order = OrderFactory(merchant=merchant, external_id="o-1")
    client = staff_client(merchant)

    add = client.get(reverse("admin:storefront_order_add"))
    client.post(reverse("admin:storefront_order_change", args=[order.pk]), {"external_id": "changed"})

    assert add.status_code == 403
    order.refresh_from_db()
    assert order.external_id == "o-1"


# An inline is asked about its parent (the order), not about its own rows (the lines).
def test_staff_see_the_lines_of_their_merchants_order(merchant, other_merchant):
    # given: our order's line with an id that is not our order's id (ids that line up
    # would hide the bug)
    theirs = OrderFactory(merchant=other_merchant)
    ours = OrderFactory(merchant=merchant)
    last = OrderLineFactory(
        order=theirs, product=ProductFactory(merchant=other_merchant, title="Their thing")
    )
    while last.pk + 1 == ours.pk:
        last = OrderLineFactory(
            order=theirs, product=ProductFactory(merchant=other_merchant, title="Their thing")
        )
    OrderLineFactory(order=ours, product=ProductFactory(merchant=merchant, title="Velvet lipstick"))

    response = staff_client(merchant).get(reverse("admin:storefront_order_change", args=[ours.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Velvet lipstick" in page
    assert "Their thing" not in page
    assert Order.objects.count() == 2


def test_an_order_page_reads_in_people_s_words(merchant):
    # given: an order of two lipsticks, one of them refunded
    merchant.name = "Acme Beauty"
    merchant.save()
    order = OrderFactory(merchant=merchant)
    lipstick = ProductFactory(merchant=merchant, sku="LIP-01", title="Velvet lipstick")
    line = OrderLineFactory(order=order, product=lipstick, quantity=2)
    RefundFactory(order=order, lines=[{"sku": "LIP-01", "quantity": 1}])

    page = staff_client(merchant).get(reverse("admin:storefront_order_change", args=[order.pk]))

    # then: titles and quantities, never ids or JSON, under the merchant's name
    text = page.content.decode()
    assert str(line) == "2 x Velvet lipstick"
    assert "1 x Velvet lipstick (LIP-01)" in text
    assert '"sku"' not in text
    assert "Fanbase — Acme Beauty" in text
    assert "Django administration" not in text
