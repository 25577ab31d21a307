"""Room on each page of ``analytics_metricstate`` for HOT updates: every minute's update rewrites every state, and
no updated column is indexed, so with free space on the page PostgreSQL updates in place without touching the five
indexes (before: ~16% HOT, the table at 25x its live size). Applies to pages written from now on (a ``VACUUM FULL``
rewrites the old ones). PostgreSQL only; nothing to do on SQLite."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE analytics_metricstate SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE analytics_metricstate RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_analytics_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
