from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents"

    def ready(self):
        # In every process (web, worker, shell): a change to a key, an agent or an account must reach the
        # per-process key caches of the web processes, wherever the change is made.
        from agents import keycache

        keycache.connect_receivers()
