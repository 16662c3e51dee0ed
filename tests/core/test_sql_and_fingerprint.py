from django.db import connection

from core.fingerprint import request_fingerprint
from core.sql import comma_joined, compact, greatest, least


def test_fingerprint_ignores_key_order_and_sees_any_value_change():
    assert request_fingerprint({"a": 1, "b": [1, 2]}) == request_fingerprint({"b": [1, 2], "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})


def test_greatest_least_and_comma_join_run_on_this_database(db):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {greatest()}(2, 5), {least()}(2, 5)")
        assert tuple(cursor.fetchone()) == (5, 2)
        cursor.execute(f"SELECT {comma_joined('v')} FROM (SELECT 1 AS v UNION ALL SELECT 2 AS v) AS t")
        assert sorted(cursor.fetchone()[0].split(",")) == ["1", "2"]


def test_compact_leaves_one_space_per_run_outside_quotes_and_none_beside_commas_or_parentheses():
    statement = """
        SELECT  a,
                'two  spaces\nand a line' AS "Odd  Name",
                'it''s   kept', ' ( , ) '
        FROM t   WHERE x = %(x)s AND y IN ( 1 , 2 ) AND z = COALESCE( %(z)s , 0 )
    """

    assert compact(statement) == (
        "SELECT a,'two  spaces\nand a line' AS \"Odd  Name\",'it''s   kept',' ( , ) '"
        " FROM t WHERE x = %(x)s AND y IN(1,2)AND z = COALESCE(%(z)s,0)"
    )
