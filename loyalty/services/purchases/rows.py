"""Model instances from the columns of a hand-written ``SELECT``.

The pipeline's reads are fixed SQL strings (compiling the ORM's joins and subqueries
cost more CPU per order than PostgreSQL spent running them: docs/performance.md); this
builds the same instances the ORM would, through the fields' own database converters.
"""

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

from core.sql import default_connection


class Columns:
    """A model's concrete columns under a table alias, and its instances from their values."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}" for field in self.fields)
        self._converters: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def build(self, values) -> Model | None:
        """The instance, or None for the null row of an outer join (no primary key)."""
        if values[0] is None:
            return None
        db = default_connection()
        converters = self._converters.get(db.vendor)
        if converters is None:
            converters = self._converters[db.vendor] = [_converters(f) for f in self.fields]
        converted = []
        for value, chain in zip(values, converters, strict=True):
            for convert, expression in chain:
                value = convert(value, expression, db)
            converted.append(value)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.names, converted)


def _converters(field) -> list:
    column = field.get_col(field.model._meta.db_table)
    chain = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    return [(convert, column) for convert in chain]
