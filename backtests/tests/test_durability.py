"""Deterministic and durable: the same orders at the same virtual times give bit-identical results; a session
continues after its server process is replaced (state from the database only); two processes serve one session."""

import threading

import httpx
import pytest

from backtests.tests.conftest import create, import_real
from streams.tests.support import ServerProcess

D = __import__("decimal").Decimal
WALL = ("session_id", "created_at", "started_at", "finished_at", "eta_seconds", "steps_per_second")

# (step to reach, order body) — a script exercising market, limit, stop and take-profit orders
SCRIPT = [
    (1, {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.02"}),
    (5, {"symbol": "BTCUSDT", "side": "sell", "type": "stop_loss", "quantity": "0.01", "trigger_price": "70500.00"}),
    (5, {"symbol": "BTCUSDT", "side": "sell", "type": "take_profit", "quantity": "0.01", "trigger_price": "71600.00"}),
    (40, {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "70900.00"}),
    (90, {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quote_quantity": "500"}),
    (150, {"symbol": "BTCUSDT", "side": "sell", "type": "limit", "quantity": "0.005", "price": "71500.00"}),
    (200, {"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.004"}),
]


def scrub(obj):
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if k not in WALL}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


class Http:
    """A client on one or more servers: each request goes to the next server in turn."""

    def __init__(self, bases, key):
        self.clients = [httpx.Client(base_url=b, headers={"X-API-Key": key}, timeout=30) for b in bases]
        self.n = 0

    def _next(self):
        self.n += 1
        return self.clients[self.n % len(self.clients)]

    def post(self, path, body=None):
        return self._next().post(path, json=body)

    def get(self, path):
        return self._next().get(path)


def run_script(client, sid, *, until=None, start_at=0):
    """Drive the session to step 360 (or ``until``) placing SCRIPT's orders; returns every response."""
    out = []
    step = start_at
    base = f"/api/v1/backtest/{sid}/"
    for at, body in SCRIPT:
        if at < step:
            continue
        if until is not None and at > until:
            break
        if at > step:
            r = client.post(base + "step/batch", {"steps": at - step, "snapshots": False})
            out.append(scrub(r.json()))
            step = at
        r = client.post(base + "trade/order", body)
        out.append((r.status_code, scrub(r.json())))
    end = until if until is not None else 360
    if end > step:
        out.append(scrub(client.post(base + "step/batch", {"steps": end - step}).json()))
    return out


def final(client, sid):
    base = f"/api/v1/backtest/{sid}/"
    return {p: scrub(client.get(base + p).json()) for p in ("results", "results/equity-curve", "results/trades",
                                                              "trade/orders", "account/balance")}


class _DjangoClient:
    def __init__(self, c):
        self.c = c

    def post(self, path, body=None):
        return self.c.post(path, body, format="json")

    def get(self, path):
        return self.c.get(path)


@pytest.mark.django_db
def test_two_runs_are_bit_identical_and_a_rebuilt_state_is_the_same(btc, bt_agent):
    from backtests.services import cache_drop

    _, c = bt_agent()
    client = _DjangoClient(c)
    a = create(c).json()["session_id"]
    b = create(c).json()["session_id"]
    ra = run_script(client, a)
    rb = run_script(client, b)
    assert ra == rb
    fa = final(client, a)
    assert fa == final(client, b)
    assert len(fa["results/trades"]["results"]) >= 5
    cache_drop()  # what a fresh process sees: the state replayed from the database alone
    assert final(client, a) == fa


@pytest.fixture
def live(transactional_db, bt_agent):
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()
    import_real("BTCUSDT", days=1)
    agent, c = bt_agent()
    key = c._credentials["HTTP_X_API_KEY"]
    servers = []

    def server(name):
        s = ServerProcess(env={"RATE_LIMIT_PER_KEY": "100000"}, name=f"backtests-{name}").start()
        servers.append(s)
        return s

    yield c, key, server
    for s in servers:
        s.stop()


def test_restart_in_the_middle_of_a_session(live):
    c, key, server = live
    ref_sid = create(c).json()["session_id"]
    reference = run_script(_DjangoClient(c), ref_sid)
    sid = create(c).json()["session_id"]
    first = server("a")
    part1 = run_script(Http([first.base], key), sid, until=100)
    first.stop()  # the process that held the session's state in memory is gone
    second = server("b")
    http = Http([second.base], key)
    part2 = run_script(http, sid, start_at=100)
    assert final(http, sid) == final(_DjangoClient(c), ref_sid)
    assert part1 + part2 != []
    assert reference[-1]["portfolio"] == part2[-1]["portfolio"]


def test_two_processes_serve_one_session(live):
    c, key, server = live
    ref_sid = create(c).json()["session_id"]
    run_script(_DjangoClient(c), ref_sid)
    a, b = server("a"), server("b")
    sid = create(c).json()["session_id"]
    http = Http([a.base, b.base], key)  # every request on the other process
    run_script(http, sid)
    assert final(http, sid) == final(_DjangoClient(c), ref_sid)
    # concurrent single steps through both processes: each step happens once, none is lost or doubled
    sid2 = create(c, end_time="2026-03-24T02:00:00Z").json()["session_id"]
    errors = []

    def stepper(base):
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as h:
            for _ in range(30):
                r = h.post(f"/api/v1/backtest/{sid2}/step")
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=stepper, args=(s.base,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    st = httpx.get(a.base + f"/api/v1/backtest/{sid2}/status", headers={"X-API-Key": key}).json()
    assert st["step"] == 60
    curve = httpx.get(b.base + f"/api/v1/backtest/{sid2}/results/equity-curve",
                      headers={"X-API-Key": key}).json()["points"]
    assert len(curve) == 61
