"""The run command's demo: an account with three agents, and fresh keys printed on every start.

Keys are stored only as hashes, so the demo cannot print the previous run's keys: it revokes them and issues new
ones each time (which is what `regenerate-key` does for a real user).
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_register
from agents.models import Agent, AgentKey
from agents.services import agent_create, agent_key_issue
from common.demo import demo_credentials_write

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-123"
DEMO_AGENTS = [
    ("Momentum Bot", "Buys strength on 5-minute breakouts."),
    ("Mean Reverter", "Fades moves away from the 1-hour VWAP."),
    ("Market Maker", "Quotes a ladder around mid with quotes/bulk."),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo account and agents and print their credentials."

    @transaction.atomic
    def handle(self, *args, **options):
        account = Account.objects.filter(email=DEMO_EMAIL).first()
        lines = []
        credentials = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "agents": []}
        if account is None:
            registered = account_register(email=DEMO_EMAIL, password=DEMO_PASSWORD, display_name="Demo Trader")
            account = registered.account
            lines.append(f"  account api_key    {registered.api_key}")
            lines.append(f"  account api_secret {registered.api_secret}")
        if not account.is_staff:
            account.is_staff = account.is_superuser = True
            account.save(update_fields=["is_staff", "is_superuser"])
        for name, description in DEMO_AGENTS:
            agent = Agent.objects.filter(account=account, name=name).first()
            if agent is None:
                agent, issued = agent_create(account=account, name=name, description=description)
            else:
                AgentKey.objects.filter(agent=agent, is_primary=True, revoked_at__isnull=True).update(
                    revoked_at=timezone.now())
                issued = agent_key_issue(agent=agent, name="primary", is_primary=True)
            lines.append(f"  agent {name:<14} id {agent.id}  X-API-Key: {issued.api_key}")
            credentials["agents"].append({"name": name, "id": str(agent.id), "api_key": issued.api_key})
        # For the landing page of the developer's own machine (common/demo.py says when it is shown).
        transaction.on_commit(lambda: demo_credentials_write(credentials))
        self.stdout.write("\nDemo account (also admin): %s / %s" % (DEMO_EMAIL, DEMO_PASSWORD))
        self.stdout.write("\n".join(lines) + "\n")
