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
