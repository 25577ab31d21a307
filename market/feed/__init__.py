"""The price feed: sources (live exchange, candle replay, synthetic walk), the Redis writer, the candle builder and
the runner that ties them together (``manage.py run_feed``). See docs/market-data.md."""
