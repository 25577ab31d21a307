from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self):
        from django.conf import settings

        from common import gc_tuning

        gc_tuning.configure(settings.GC_GEN0_THRESHOLD)  # every process of the platform: see common/gc_tuning.py
