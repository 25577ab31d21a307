from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self):
        # agents is below trading: it opens, resets and values an agent's wallets through agents.ports.
        from agents import ports
        from trading.agent_wallets import AGENT_WALLETS

        ports.register(AGENT_WALLETS)
