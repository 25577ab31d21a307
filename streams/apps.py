from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Streams and webhooks"

    def ready(self):
        # The trading core publishes its domain events after commit (common.events) and imports nothing of this
        # app: the streams and webhooks subscribe here.
        from common import events
        from streams.subscribers import on_trading_events

        events.subscribe(on_trading_events)

        from django.db.models.signals import post_delete, post_save

        from streams.models import WebhookEndpoint
        from streams.services import endpoints_changed

        post_save.connect(endpoints_changed, sender=WebhookEndpoint, dispatch_uid="webhook-endpoints-save")
        post_delete.connect(endpoints_changed, sender=WebhookEndpoint, dispatch_uid="webhook-endpoints-delete")
