"""The example agents (examples/*.py, httpx only) run for a few seconds against a live server (uvicorn subprocess)
inside a battle, with a real Celery worker filling their orders and a moving market: each of them trades, on its
battle wallet, and follows its user stream."""

import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from battles.tests.support import act, add, make_battle
from streams.tests.support import ServerProcess
from trading.models import Fill, Order, Wallet
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, set_market

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def api_server(django_db_setup, django_db_blocker, trading_namespace):
    """The project under uvicorn, sending its Celery tasks to the session's queue (the test worker's)."""
    with django_db_blocker.unblock():
        server = ServerProcess(name="examples", env={
            "MARKET_KEY_PREFIX": trading_namespace["MARKET_KEY_PREFIX"],
            "TRADING_KEY_PREFIX": trading_namespace["TRADING_KEY_PREFIX"],
            "CELERY_TASK_DEFAULT_QUEUE": trading_namespace["queue"]}).start()
    yield server
    server.stop()


@pytest.fixture
def moving_market():
    """BTCUSDT on a random walk, a new price every 0.15 s, with a book around it."""
    stop = threading.Event()
    rnd = random.Random(7)

    def run():
        price = D("60000")
        try:
            while not stop.wait(0.15):
                price = (price * (1 + D(str(rnd.gauss(0, 0.0015))))).quantize(D("0.01"))
                set_market("BTCUSDT", price, bids=[(price - 1, "5")], asks=[(price + 1, "5")])
        finally:
            connection.close()

    set_market("BTCUSDT", "60000", bids=[("59999", "5")], asks=[("60001", "5")])
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


def test_the_example_agents_trade_in_a_battle(api_server, celery_worker, trader, account_factory, jwt_client,
                                              moving_market):
    owner = account_factory().account
    agents = {name: trader(account=owner, name=name) for name in ("momentum", "mean_reversion", "market_maker")}
    client = jwt_client(owner)
    b = make_battle(client, pairs=["BTCUSDT"])
    for agent, _, _ in agents.values():
        add(client, b["id"], agent)
    assert act(client, b["id"], "start").status_code == 200

    procs = {}
    for name, (agent, agent_client, _) in agents.items():
        key = agent_client._credentials["HTTP_X_API_KEY"]
        procs[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--base-url", api_server.base, "--key", key,
             "--interval", "0.4", "--window", "3", "--threshold", "0.0002", "--seconds", "8"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = {}
    for name, proc in procs.items():
        outputs[name] = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, outputs[name]

    for name, (agent, _, main_wallet) in agents.items():
        battle_wallet = Wallet.objects.get(agent=agent, battle_id=b["id"])
        orders = Order.objects.filter(agent=agent)
        assert orders.exists(), outputs[name]
        assert set(orders.values_list("wallet_id", flat=True)) == {battle_wallet.pk}, name  # battle wallet only
        assert "done:" in outputs[name] and "0 connects" not in outputs[name], outputs[name]
    for name in ("momentum", "mean_reversion"):
        agent = agents[name][0]
        assert Fill.objects.filter(agent=agent).exists(), outputs[name]
        assert "fills seen on the stream" in outputs[name] and " 0 fills seen" not in outputs[name], outputs[name]
    assert Order.objects.filter(agent=agents["market_maker"][0], type="limit").count() >= 2
    assert "quoted" in outputs["market_maker"]


def test_an_example_agent_rides_out_429s_and_a_server_restart(celery_worker, trader, moving_market,
                                                                trading_namespace):
    """A tight rate limit (8 requests per 3 s) and the server going away for a moment: the agent waits out each
    429 (Retry-After), retries through the outage, reconnects its stream and keeps trading."""
    import time

    server = ServerProcess(name="examples-429", env={
        "MARKET_KEY_PREFIX": trading_namespace["MARKET_KEY_PREFIX"],
        "TRADING_KEY_PREFIX": trading_namespace["TRADING_KEY_PREFIX"],
        "CELERY_TASK_DEFAULT_QUEUE": trading_namespace["queue"],
        "RATE_LIMIT_WINDOW_SECONDS": "3", "RATE_LIMIT_PER_KEY": "8"}).start()
    agent, agent_client, _ = trader(name="momentum")
    key = agent_client._credentials["HTTP_X_API_KEY"]
    try:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "momentum.py"), "--base-url", server.base, "--key", key,
             "--interval", "0.3", "--window", "3", "--threshold", "0.0002", "--seconds", "14"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(5)
        server.stop()  # the stream drops, requests fail...
        time.sleep(1.5)
        server.start()  # ...and come back on the same port
        out = proc.communicate(timeout=90)[0]
    finally:
        server.stop()
    assert proc.returncode == 0, out
    assert "429 on" in out, out
    done = [line for line in out.splitlines() if "done:" in line][0]
    connects = int(done.split("fills seen on the stream, ")[1].split(" connects")[0])
    rate_limited = int(done.split("connects, ")[1].split(" rate-limited")[0])
    assert connects >= 2 and rate_limited > 0, done
    assert Order.objects.filter(agent=agent).exists(), out
