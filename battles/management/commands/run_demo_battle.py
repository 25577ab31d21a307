"""``bin/run``'s demo battle: the demo agents (``seed_demo``) in a live battle, traded by the example agents.

Waits for the web server, (re)starts a "Demo battle" (quick_1h) between the demo agents, issues each a fresh key
named ``demo-runner`` (the previous ones are revoked; keys exist only as hashes, so they cannot be reused), runs
``examples/momentum.py``, ``mean_reversion.py`` and ``market_maker.py`` with those keys, restarts any that exits,
and starts a rematch when the battle completes. ``DEMO_BATTLE=0`` in bin/run turns this off.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[3]
NAME = "Demo battle"
SCRIPTS = {"Momentum Bot": "momentum.py", "Mean Reverter": "mean_reversion.py", "Market Maker": "market_maker.py"}


class Command(BaseCommand):
    help = "Seed and start a demo battle between the demo agents and run the example agents in it."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=None, help="default: PUBLIC_BASE_URL")
        parser.add_argument("--seed-only", action="store_true", help="start the battle, print keys, run nothing")

    def handle(self, *args, base_url=None, seed_only=False, **options):
        base_url = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
        try:
            battle, keys = self.seed()
        except Exception as exc:  # noqa: BLE001 - bin/run stops everything when one process exits: idle instead
            self.stderr.write(f"demo battle not started: {type(exc).__name__}: {exc}")
            if not seed_only:
                signal.sigwait([signal.SIGTERM, signal.SIGINT])
            return
        self.stdout.write(f"Demo battle {battle.pk} ({battle.status}): {', '.join(keys)}")
        if seed_only:
            for name, key in keys.items():
                self.stdout.write(f"  {name}: {key}")
            return
        self.wait_for(base_url)
        procs = {}
        stopping = []
        signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
        try:
            while not stopping:
                for name, key in keys.items():
                    proc = procs.get(name)
                    if proc is None or proc.poll() is not None:
                        procs[name] = subprocess.Popen(
                            [sys.executable, str(ROOT / "examples" / SCRIPTS[name]), "--base-url", base_url,
                             "--key", key], cwd=ROOT, stdout=subprocess.DEVNULL)
                for _ in range(10):
                    if stopping:
                        break
                    time.sleep(1)
                close_old_connections()
                battle = self.keep_running(battle)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def seed(self):
        from accounts.models import Account
        from agents import keycache
        from agents.management.commands.seed_demo import DEMO_EMAIL
        from agents.models import Agent, AgentKey
        from agents.services import agent_key_issue
        from battles.models import Battle
        from battles.services import battle_create, battle_start, battle_stop, participant_add

        account = Account.objects.get(email=DEMO_EMAIL)
        agents = [Agent.objects.get(account=account, name=name) for name in SCRIPTS]
        for old in Battle.objects.filter(owner=account, name=NAME, status__in=["draft", "pending", "active",
                                                                               "paused"]):
            battle_stop(battle=old)
        battle = battle_create(owner=account, name=NAME, preset="quick_1h")
        for agent in agents:
            participant_add(battle=battle, agent=agent, actor=account)
        battle_start(battle=battle)
        AgentKey.objects.filter(agent__in=agents, name="demo-runner", revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        keycache.invalidate()
        keys = {agent.name: agent_key_issue(agent=agent, name="demo-runner").api_key for agent in agents}
        return battle, keys

    def keep_running(self, battle):
        """A completed demo battle is followed by its rematch."""
        from battles.services import battle_rematch, battle_start

        battle.refresh_from_db()
        if battle.status in ("completed", "cancelled"):
            battle = battle_rematch(battle=battle, owner=battle.owner)
            battle_start(battle=battle)
            self.stdout.write(f"Demo battle rematch {battle.pk} started")
        return battle

    def wait_for(self, base_url, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/api/v1/health/live", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stderr.write("the web server did not come up; running the agents anyway")
