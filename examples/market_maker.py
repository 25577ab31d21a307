"""Market maker: keeps a small ladder of limit orders around the last price with one bulk-quotes call per step
(``POST /trade/quotes/bulk``, cancel_all: the old ladder is replaced atomically). Sells only what it holds (spot).

    python examples/market_maker.py --base-url http://127.0.0.1:8000 --key ak_live_...
"""

from decimal import Decimal

from common import Api, UserStream, down, log, parse_args, run_loop


def main():
    args = parse_args("market-maker: bulk quotes", interval=3.0, threshold="0.0005", size_pct="2")
    api = Api(args.base_url, args.key)
    f = api.filters(args.symbol)
    base = args.symbol.removesuffix("USDT")
    stream = None if args.no_stream else UserStream(api)
    if stream:
        stream.start()
    levels = 2

    def step():
        price = api.price(args.symbol)
        if price is None:
            return
        wallet = api.balance()
        size = down(wallet["equity"] * args.size_pct / 100 / price, f["step_size"])
        size = max(size, down(f["min_notional"] * Decimal("1.2") / price, f["step_size"]) + f["step_size"])
        held = down(wallet["available"].get(base, 0), f["step_size"])
        quotes = []
        for i in range(1, levels + 1):
            offset = args.threshold * i
            quotes.append({"side": "buy", "price": str(down(price * (1 - offset), f["tick_size"])),
                           "quantity": str(size)})
            if held >= size * i:
                quotes.append({"side": "sell", "price": str(down(price * (1 + offset), f["tick_size"]) +
                                                            f["tick_size"]), "quantity": str(size)})
        r = api.post("/trade/quotes/bulk", {"symbol": args.symbol, "cancel_all": True, "quotes": quotes})
        if r.status_code >= 400:
            log.info("quotes refused: %s %s", r.status_code, r.json().get("error", {}).get("code"))
        else:
            log.info("quoted %d levels around %s (cancelled %d)", len(quotes), price,
                     len(r.json().get("cancelled", [])))

    run_loop(args, step)
    if stream:
        stream.stopping.set()
        log.info("done: %d fills seen on the stream, %d connects, %d rate-limited", stream.fills, stream.connects,
                 api.rate_limited)


if __name__ == "__main__":
    main()
