"""core.pagination.Keyset: pages of a written-out statement, walked both ways, with ties.

Merchants ordered newest first by (created_at, id) stand for any list: half of them share
one created_at, so a position of the first column alone could not tell them apart.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.db import connection
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.pagination import Keyset
from members.models import Merchant
from tests.members.factories import MerchantFactory

pytestmark = pytest.mark.django_db
FIELDS = [Merchant._meta.get_field("created_at"), Merchant._meta.get_field("id")]
COLUMNS = ["created_at", "id"]
TIE = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
def merchants():
    made = [MerchantFactory() for _ in range(11)]
    for index, merchant in enumerate(made):
        moment = TIE if index % 2 else TIE - timedelta(minutes=index)
        Merchant.objects.filter(pk=merchant.pk).update(created_at=moment)
    return sorted(Merchant.objects.all(), key=lambda m: (m.created_at, m.id), reverse=True)


def request_for(url: str) -> Request:
    return Request(APIRequestFactory().get(url))


def read(keyset: Keyset) -> list[Merchant]:
    condition, params = keyset.condition(COLUMNS)
    order = keyset.order(COLUMNS)
    sql = f"SELECT id FROM members_merchant WHERE {condition} ORDER BY {order} LIMIT {keyset.limit}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    by_id = Merchant.objects.in_bulk(ids)
    return [by_id[i] for i in ids]


def page_of(url: str) -> tuple[list[Merchant], dict]:
    keyset = Keyset.from_request(request_for(url), fields=FIELDS, descending=True)
    return keyset.page(read(keyset), key=lambda m: (m.created_at, m.id))


def path_of(link: str) -> str:
    return link.removeprefix("http://testserver")


def test_walking_next_then_previous_visits_every_row_once_in_order_across_ties(merchants):
    pages, url = [], "/list?page_size=3"
    while url:
        rows, links = page_of(url)
        pages.append(rows)
        url = links["next"] and path_of(links["next"])
    assert [m.id for page in pages for m in page] == [m.id for m in merchants]
    assert [len(page) for page in pages] == [3, 3, 3, 2]

    back, url = [], path_of(links["previous"])
    while url:
        rows, links = page_of(url)
        back.insert(0, rows)
        url = links["previous"] and path_of(links["previous"])
    assert back == pages[:-1]


def test_the_first_page_has_no_previous_link_and_a_later_one_has_both(merchants):
    first, links = page_of("/list?page_size=4")
    assert links["previous"] is None and links["next"].startswith("http://testserver/list?")
    assert "page_size=4" in links["next"]
    _, later = page_of(path_of(links["next"]))
    assert later["previous"] is not None and later["next"] is not None
    back, _ = page_of(path_of(later["previous"]))
    assert back == first


def test_the_last_page_has_no_next_link(merchants):
    rows, links = page_of("/list?page_size=50")
    assert rows == merchants and links == {"next": None, "previous": None}


def test_ascending_order_reads_oldest_first(merchants):
    keyset = Keyset.from_request(request_for("/list?page_size=5"), fields=FIELDS, descending=False)
    rows, links = keyset.page(read(keyset), key=lambda m: (m.created_at, m.id))
    assert rows == list(reversed(merchants))[:5] and links["next"]


def signed(value, salt: str = Keyset.signing_salt) -> str:
    return signing.Signer(salt=salt).sign_object(value)


MOMENT = "2026-01-01T00:00:00+00:00"
# (why, the cursor): made in the test, so that every worker collects the same ids.
NOT_THIS_LISTS = {
    "garbage": lambda: "garbage",
    "another-salt": lambda: signed([[MOMENT, 1], 0], salt="another.salt"),
    "too-short": lambda: signed([[MOMENT], 0]),
    "naive-moment": lambda: signed([["2026-01-01T00:00:00", 1], 0]),
    "not-a-moment": lambda: signed([["not a time", 1], 0]),
    "id-as-text": lambda: signed([[MOMENT, "1"], 0]),
    "id-out-of-range": lambda: signed([[MOMENT, 2**70], 0]),
    "id-a-boolean": lambda: signed([[MOMENT, True], 0]),
    "direction-not-0-or-1": lambda: signed([[MOMENT, 1], 2]),
    "not-a-list": lambda: signed({"p": 1}),
}


@pytest.mark.parametrize("why", NOT_THIS_LISTS)
def test_a_cursor_the_list_did_not_make_is_a_400_on_cursor(why):
    cursor = NOT_THIS_LISTS[why]()
    with pytest.raises(ValidationError) as raised:
        Keyset.from_request(request_for(f"/list?cursor={cursor}"), fields=FIELDS)
    assert raised.value.detail["cursor"][0].code == "invalid_cursor"


@pytest.mark.parametrize("size", ["0", "201", "x", "-1", "1e3"])
def test_a_page_size_outside_1_to_200_is_a_400_on_page_size(size):
    with pytest.raises(ValidationError) as raised:
        Keyset.from_request(request_for(f"/list?page_size={size}"), fields=FIELDS)
    assert raised.value.detail["page_size"][0].code == "invalid_page_size"
