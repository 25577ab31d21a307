import gc

from django.conf import settings

from common import gc_tuning


def test_every_django_process_runs_with_the_configured_threshold():
    # CommonConfig.ready ran when pytest-django set Django up
    assert settings.GC_GEN0_THRESHOLD == gc_tuning.GEN0_THRESHOLD
    assert gc.get_threshold()[0] == settings.GC_GEN0_THRESHOLD


def test_zero_keeps_what_is_set_and_older_generations_are_kept():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert gc_tuning.configure(0) == (700, 10, 10)
        assert gc_tuning.configure(5000) == (5000, 10, 10)
    finally:
        gc.set_threshold(*before)
