"""SQL spelled differently by SQLite and PostgreSQL, decided once per statement.

Raw statements that must run on both databases take their function names from here,
so the vendor branch is written once.
"""

import functools
import json
import re
import weakref

from django.db import DEFAULT_DB_ALIAS, connection, connections


def greatest() -> str:
    """The larger of two values: PostgreSQL's ``GREATEST``, SQLite's two-argument ``MAX``."""
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def least() -> str:
    """The smaller of two values: PostgreSQL's ``LEAST``, SQLite's two-argument ``MIN``."""
    return "LEAST" if connection.vendor == "postgresql" else "MIN"


def comma_joined(column: str) -> str:
    """An aggregate joining ``column``'s values with commas (no order promised)."""
    if connection.vendor == "postgresql":
        return f"STRING_AGG(CAST({column} AS TEXT), ',')"
    return f"GROUP_CONCAT({column}, ',')"


def epoch_seconds(column: str) -> str:
    """Seconds since 1970 of a datetime column (UTC), as a floating-point number.

    SQLite stores datetimes as ISO text, which ``julianday`` reads.
    """
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def seconds_between(later: str, earlier: str) -> str:
    """``later - earlier`` in seconds, as a float, for two timestamp expressions."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def decay(*, later: str, earlier: str, half_life_seconds: str) -> str:
    """The fraction of a decaying weight left from ``earlier`` to ``later`` (1 when not
    later). Django registers ``POWER`` on SQLite connections: the same SQL on both. The
    clamp at 0 seconds means decaying to the later of two moments can be written as
    decaying to the other one: both upserts of a score and of a preference do."""
    return f"POWER(0.5, {greatest()}({seconds_between(later, earlier)}, 0) / {half_life_seconds})"


def json_array_has(column: str) -> str:
    """True when the JSON array in ``column`` holds the text bound to the one placeholder.

    Bind the value with :func:`json_array_has_param`.
    """
    if connection.vendor == "postgresql":
        return f"({column} @> CAST(%s AS JSONB))"
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = %s)"


def json_array_has_param(value: str) -> str:
    """The parameter of :func:`json_array_has`: a one-element array on PostgreSQL."""
    if connection.vendor == "postgresql":
        return json.dumps([value])
    return value


def in_subquery(column: str, subquery: str) -> str:
    """``column`` is one of the values ``subquery`` returns, as an index condition.

    PostgreSQL plans ``IN (subquery)`` as a join or a hashed filter, so an index on
    ``column`` is not searched by the values; ``= ANY(ARRAY(subquery))`` is evaluated
    once (an InitPlan) and its array is an index condition, as a list written out would
    be. SQLite searches an index either way.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY({subquery}))"
    return f"{column} IN ({subquery})"


def minus_seconds(expression: str) -> str:
    """A datetime expression less the seconds bound to the one placeholder (a float).

    SQLite's ``datetime()`` drops the fraction of a second, so there the result may be up
    to a second earlier: use it for lower bounds that may include more, never fewer.
    """
    if connection.vendor == "postgresql":
        return f"({expression} - %s * INTERVAL '1 second')"
    return f"datetime({expression}, '-' || %s || ' seconds')"


def any_of(column: str, values: list) -> tuple[str, list]:
    """``column`` is one of ``values`` (not empty): one array parameter on PostgreSQL, so
    the statement's text is the same however many."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


# A quoted literal or identifier (kept as written), a comma or parenthesis with the
# whitespace around it, or a run of whitespace.
_SPACE_OR_QUOTED = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\s*[,()]\s*|\s+""")


def _compacted(match: re.Match) -> str:
    text = match.group()
    if text[0] in "'\"":
        return text
    return text.strip() or " "


@functools.lru_cache(maxsize=512)
def compact(statement: str) -> str:
    """``statement`` with each run of whitespace outside quotes made one space, and none
    beside a comma or a parenthesis (which SQL's tokens never need).

    psycopg parses a statement's placeholders once and keeps the result only for a
    statement of at most 4,096 bytes and 50 parameters (``psycopg._queries``); a longer
    one is parsed again on every execute, 0.4 ms for the order's side effects. Written
    out with the indentation that makes them readable, the order's statements pass
    that limit; compacted (once per text: cached), they stay under it. Quoted literals
    and identifiers are kept as written; the statement must hold no comments and no
    dollar-quoted text (none of ours does).
    """
    return _SPACE_OR_QUOTED.sub(_compacted, statement).strip()


def timestamp(value):
    """A datetime as the driver takes it in a raw statement (SQLite stores UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def row_reader(fields):
    """A function that turns a raw row into the Python values the ORM would give, as a list.

    ``fields`` are the model fields (``Model._meta.get_field(name)``) of the row's
    columns in order; ``None`` for a computed column, returned as the driver gives it.
    The conversions are Django's own (its backend's and the field's ``from_db_value``):
    decimals and datetimes from SQLite's text and floats, JSON from its text. Made once
    per connection and list of fields.
    """
    wrapper = connections[DEFAULT_DB_ALIAS]
    readers = _row_readers.setdefault(wrapper, {})
    key = tuple(fields)
    read = readers.get(key)
    if read is None:
        read = readers[key] = _row_reader(key, wrapper)
    return read


_row_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _row_reader(fields, wrapper):
    steps = []
    for index, field in enumerate(fields):
        if field is None:
            continue
        expression = field.get_col(field.model._meta.db_table)
        converters = wrapper.ops.get_db_converters(expression) + expression.get_db_converters(wrapper)
        if converters:
            steps.append((index, expression, converters))
    if not steps:
        return list

    def read(row):
        values = list(row)
        for index, expression, converters in steps:
            value = values[index]
            for converter in converters:
                value = converter(value, expression, wrapper)
            values[index] = value
        return values

    return read


def column(model, name: str) -> str:
    """The quoted column of ``model``'s field ``name``, for a written-out statement."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def table(model) -> str:
    """The quoted table of ``model``, for a written-out statement."""
    return connection.ops.quote_name(model._meta.db_table)


def model_columns(model, alias: str) -> str:
    """The SELECT list of every concrete column of ``model`` (as :func:`instance_of` reads
    them, in the model's field order), from the table named ``alias`` in the statement."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def instance_of(model, values, *, start: int = 0):
    """The instance of ``model`` the ORM would load from a row's columns ``start`` onwards,
    selected by :func:`model_columns`: the same values (Django's conversions) and the same
    state (saved, from the default database), without a queryset's compile.

    For the hot reads that need real instances (an order's products and coupons are
    passed on to the services that write), where the ORM's compile of the query cost
    more CPU than PostgreSQL spent answering it (docs/performance.md).
    """
    fields = model._meta.concrete_fields
    row = row_reader(fields)(values[start : start + len(fields)])
    return model.from_db(DEFAULT_DB_ALIAS, None, row)


def default_connection():
    """This thread's default connection itself, not the ``django.db.connection`` proxy:
    each attribute read through the proxy is a thread-local lookup (about 1.5 us), and a
    field's ``get_db_prep_save`` reads several. The hot writes take it once: an order's
    values were prepared in 50 us through the proxy, 20 us through the connection."""
    return connections[DEFAULT_DB_ALIAS]


def instance_insert(instance):
    """Insert ``instance`` (unsaved; its primary key generated by the database) with a
    fixed statement, made once per model and database, and return it saved: its key set,
    its state as after ``save()``. The values are the instance's (:func:`insert_values`),
    without compiling the ORM's insert for every row. No save signals are sent (no domain
    effect hangs on them here: STYLE.md), and the model's ``save()`` is not called: use it
    for models without one.
    """
    db = default_connection()
    statement, fields = insert_statement(type(instance))
    with db.cursor() as cursor:
        cursor.execute(statement, insert_values(instance, fields))
        return mark_inserted(instance, cursor.fetchone()[0])


def mark_inserted(instance, pk):
    """``instance``, inserted by a raw statement that answered its key ``pk``, in the state
    ``save()`` leaves it: its key set, no longer adding, on the default database."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    return instance


def insert_statement(model) -> tuple[str, list]:
    """``model``'s ``INSERT ... RETURNING`` its key, and the fields its placeholders take
    in order (:func:`insert_values`); made once per model and database."""
    return _insert_statement(model, connection.vendor)


def insert_values(instance, fields) -> list:
    """``instance``'s values of ``fields`` as set on it, prepared as the ORM prepares them
    (``get_db_prep_save``). Unlike ``save()``, an ``auto_now``/``auto_now_add`` field keeps
    the value the caller set (an order's ``created_at`` is the pipeline's one ``now``)."""
    db = default_connection()
    return [field.get_db_prep_save(getattr(instance, field.attname), db) for field in fields]


@functools.cache
def _insert_statement(model, vendor: str) -> tuple[str, list]:
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        f" RETURNING {quote(model._meta.pk.column)}"
    )
    return statement, fields
