"""What every example agent shares: an HTTP client for the public API (httpx only), 429 handling, the pair's
filters, and a user stream (SSE) read in a thread that reconnects with Last-Event-ID.

Nothing here imports the platform: these scripts are what an outside agent looks like.
"""

import argparse
import json
import logging
import sys
import threading
import time
from decimal import ROUND_DOWN, Decimal

import httpx

log = logging.getLogger("agent")


def parse_args(description: str, **defaults) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--base-url", default="http://127.0.0.1:8000", help="the platform, e.g. http://127.0.0.1:8000")
    p.add_argument("--key", required=True, help="the agent's X-API-Key (ak_live_...)")
    p.add_argument("--symbol", default=defaults.get("symbol", "BTCUSDT"))
    p.add_argument("--interval", type=float, default=defaults.get("interval", 2.0), help="seconds between decisions")
    p.add_argument("--window", type=int, default=defaults.get("window", 20), help="prices in the moving average")
    p.add_argument("--threshold", type=Decimal, default=Decimal(defaults.get("threshold", "0.001")),
                   help="relative distance from the moving average that triggers a trade")
    p.add_argument("--size-pct", type=Decimal, default=Decimal(defaults.get("size_pct", "5")),
                   help="%% of the USDT equity per order")
    p.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    p.add_argument("--no-stream", action="store_true", help="do not follow the user stream")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {description.split(':')[0]} %(message)s",
                        stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return args


class Api:
    """The public API with one key. Retries 429 (after ``Retry-After``) and 503, and network errors, a few times."""

    def __init__(self, base_url: str, key: str, *, attempts: int = 5):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.key = key
        self.attempts = attempts
        self.http = httpx.Client(headers={"X-API-Key": key}, timeout=10.0)
        self.rate_limited = 0

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        for attempt in range(self.attempts):
            try:
                r = self.http.request(method, self.base + path, **kwargs)
            except httpx.TransportError as exc:
                log.warning("network error %s; retrying", exc)
                time.sleep(min(2 ** attempt, 10))
                continue
            if r.status_code in (429, 503):
                self.rate_limited += r.status_code == 429
                wait = float(r.headers.get("Retry-After") or 1)
                log.warning("%s on %s: waiting %.1f s", r.status_code, path, wait)
                time.sleep(min(wait, 30))
                continue
            return r
        return r

    def get(self, path, **params):
        return self.request("GET", path, params=params)

    def post(self, path, body):
        return self.request("POST", path, json=body)

    def price(self, symbol: str) -> Decimal | None:
        r = self.get(f"/market/price/{symbol}")
        return Decimal(r.json()["price"]) if r.status_code == 200 and r.json().get("price") else None

    def filters(self, symbol: str) -> dict:
        for pair in self.get("/market/pairs").json()["pairs"]:
            if pair["symbol"] == symbol:
                return {k: Decimal(pair[k]) for k in ("tick_size", "step_size", "min_qty", "min_notional")}
        raise SystemExit(f"{symbol} is not listed")

    def balance(self) -> dict:
        body = self.get("/account/balance").json()
        held = {b["asset"]: Decimal(b["available"]) for b in body.get("balances", [])}
        return {"equity": Decimal(body.get("total_equity_usdt", "0")), "available": held}

    def order(self, **body) -> httpx.Response:
        r = self.post("/trade/order", {k: str(v) if isinstance(v, Decimal) else v for k, v in body.items()})
        if r.status_code >= 400:
            log.info("order refused: %s %s", r.status_code, r.json().get("error", {}).get("code"))
        else:
            o = r.json()
            log.info("order %s %s %s %s -> %s", o["side"], o["type"], o.get("quantity") or o.get("quote_quantity"),
                     o["symbol"], o["status"])
        return r


def down(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


class UserStream(threading.Thread):
    """``GET /stream/user`` (SSE) in a daemon thread: counts fills, reconnects after any drop with Last-Event-ID."""

    def __init__(self, api: Api):
        super().__init__(daemon=True)
        self.api = api
        self.fills = 0
        self.events = []  # battle.* events seen
        self.connects = 0
        self.last_id = None
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            headers = {"Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                with self.api.http.stream("GET", self.api.base + "/stream/user", headers=headers,
                                          timeout=httpx.Timeout(10.0, read=30.0)) as r:
                    if r.status_code == 429:
                        time.sleep(float(r.headers.get("Retry-After") or 1))
                        continue
                    if r.status_code != 200:
                        time.sleep(2)
                        continue
                    self.connects += 1
                    self._read(r)
            except httpx.HTTPError as exc:
                log.info("stream dropped (%s); reconnecting", type(exc).__name__)
            time.sleep(1)

    def _read(self, response):
        data, event = [], None
        for line in response.iter_lines():
            if self.stopping.is_set():
                return
            if line.startswith("id:"):
                self.last_id = line[3:].strip()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                self._handle(event, json.loads("\n".join(data)))
                data, event = [], None

    def _handle(self, event, message):
        payload = message.get("payload", {})
        if event == "delta":
            self.fills += len(payload.get("fills", []))
            for e in payload.get("events", []):
                self.events.append(e["type"])
                log.info("event %s", e["type"])
        elif event == "error":
            log.info("stream error %s", payload.get("code"))


def run_loop(args, step) -> None:
    """Call ``step()`` every ``args.interval`` seconds until ``args.seconds`` (or Ctrl-C)."""
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            started = time.monotonic()
            try:
                step()
            except (httpx.HTTPError, KeyError, ValueError) as exc:  # keep trading through a bad answer
                log.warning("step failed: %s: %s", type(exc).__name__, exc)
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
