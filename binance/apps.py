from django.apps import AppConfig


class BinanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "binance"
    verbose_name = "Binance-compatible API"
