from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Streams and webhooks"

    def ready(self):
        # The trading core publishes its events after commit through common.events (it may not import streams).
        from common import events
        from streams.publish import on_trading_events

        events.subscribe(on_trading_events)
