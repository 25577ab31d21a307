"""Seed the default pairs (settings.MARKET_DEFAULT_PAIRS / MARKET_PAIRS). Idempotent: existing pairs are kept."""

from django.db import migrations


def seed(apps, schema_editor):
    from market.services import ensure_default_pairs

    ensure_default_pairs(model=apps.get_model("market", "Instrument"))


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
