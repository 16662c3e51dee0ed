"""Follows leave a tenth of each page free, so that a score update stays on its page.

Every engagement batch rewrites the score of up to 1000 follows. ``score`` and
``score_at`` are in no index, so PostgreSQL can update a follow in place (a HOT update:
no entry in any of the table's seven indexes) when the row's page has room for the new
version; on full pages about 40% of the updates were not HOT, each writing seven index
entries. Applies to pages written from now on (``VACUUM FULL`` rewrites older ones).
"""

from django.db import migrations


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE members_follow SET (fillfactor = 90)")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE members_follow RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("members", "0005_engagement")]

    operations = [migrations.RunPython(leave_room, fill_pages)]
