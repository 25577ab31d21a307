"""Momentum: buy when the price rises above its moving average by the threshold, sell out when it falls below.

    python examples/momentum.py --base-url http://127.0.0.1:8000 --key ak_live_...
"""

from collections import deque

from common import Api, UserStream, down, log, parse_args, run_loop


def main():
    args = parse_args("momentum: trend follower", interval=2.0, window=20, threshold="0.0005")
    api = Api(args.base_url, args.key)
    f = api.filters(args.symbol)
    base = args.symbol.removesuffix("USDT")
    prices = deque(maxlen=args.window)
    stream = None if args.no_stream else UserStream(api)
    if stream:
        stream.start()

    def step():
        price = api.price(args.symbol)
        if price is None:
            return
        prices.append(price)
        if len(prices) < min(args.window, 3):
            return
        avg = sum(prices) / len(prices)
        wallet = api.balance()
        held = down(wallet["available"].get(base, 0), f["step_size"])
        if price > avg * (1 + args.threshold) and held * price < f["min_notional"]:
            spend = (wallet["equity"] * args.size_pct / 100).quantize(f["tick_size"])
            if spend >= f["min_notional"]:
                api.order(symbol=args.symbol, side="buy", type="market", quote_quantity=spend)
        elif price < avg * (1 - args.threshold) and held >= f["min_qty"] and held * price >= f["min_notional"]:
            api.order(symbol=args.symbol, side="sell", type="market", quantity=held)

    run_loop(args, step)
    if stream:
        stream.stopping.set()
        log.info("done: %d fills seen on the stream, %d connects, %d rate-limited", stream.fills, stream.connects,
                 api.rate_limited)


if __name__ == "__main__":
    main()
