from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self):
        # In every process (web, worker, shell): a change to a key, an agent or an account must reach the
        # per-process key caches of the web processes, wherever the change is made.
        from agents import keycache

        keycache.connect_receivers()
