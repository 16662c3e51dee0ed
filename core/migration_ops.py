"""Migration operations of our own.

``DropForeignKeyIndex``: a foreign key stops having an index of its own (``db_index=False``)
and only that index is dropped. Django's ``AlterField`` to ``db_index=False`` would also
drop and re-add the foreign-key constraint on PostgreSQL, which validates the whole table
under a lock: on a table of millions of rows, minutes of refused writes for a change that
removes work. The index's name is the one Django gave it (``_create_index_name``, the name
it would drop itself), so one operation serves every table and both databases.
"""

from django.db import migrations


class DropForeignKeyIndex(migrations.operations.base.Operation):
    reversible = True

    def __init__(self, model_name: str, name: str):
        self.model_name = model_name
        self.name = name

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "name": self.name}

    def state_forwards(self, app_label, state):
        field = state.models[app_label, self.model_name.lower()].fields[self.name].clone()
        field.db_index = False
        state.alter_field(app_label, self.model_name.lower(), self.name, field, preserve_default=True)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            name = _index_name(schema_editor, model, self.name)
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            field = model._meta.get_field(self.name)
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self):
        return f"Drop the index of its own of {self.model_name}.{self.name}"

    @property
    def migration_name_fragment(self):
        return f"drop_{self.model_name.lower()}_{self.name.lower()}_index"


def _index_name(schema_editor, model, field_name: str) -> str:
    column = model._meta.get_field(field_name).column
    return schema_editor._create_index_name(model._meta.db_table, [column], suffix="")
