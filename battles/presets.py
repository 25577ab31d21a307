"""Battle presets (``GET /battles/presets``): a name for a configuration; explicit fields override it."""

from decimal import Decimal

PRESETS = {
    "quick_1h": {"description": "One hour, every pair, ranked by ROI.", "duration": 3600,
                 "starting_balance": Decimal("10000"), "pairs": [], "ranking_metric": "roi_pct"},
    "day_trader": {"description": "24 hours, every pair, ranked by ROI.", "duration": 86400,
                   "starting_balance": Decimal("10000"), "pairs": [], "ranking_metric": "roi_pct"},
    "marathon": {"description": "7 days, every pair, ranked by Sharpe ratio.", "duration": 7 * 86400,
                 "starting_balance": Decimal("10000"), "pairs": [], "ranking_metric": "sharpe_ratio"},
    "scalper_duel": {"description": "4 hours, 5,000 USDT, BTCUSDT and ETHUSDT only.", "duration": 4 * 3600,
                     "starting_balance": Decimal("5000"), "pairs": ["BTCUSDT", "ETHUSDT"],
                     "ranking_metric": "roi_pct"},
    "survival": {"description": "No time limit; equity below 50 % of the starting balance is eliminated; the last "
                                "one left wins.", "duration": None, "starting_balance": Decimal("10000"),
                 "pairs": [], "ranking_metric": "roi_pct", "elimination_threshold_pct": Decimal("50")},
    # Historical (issue 12): replay [start_time, start_time + duration) of the candle store at ``interval`` on one
    # virtual clock the owner steps; start_time is required (end_time defaults to start_time + duration).
    "historical_day": {"description": "One day of history at 1-minute candles (1,440 steps), BTCUSDT, ranked by ROI.",
                       "duration": 86400, "starting_balance": Decimal("10000"), "pairs": ["BTCUSDT"],
                       "ranking_metric": "roi_pct", "mode": "historical", "interval": "1m"},
    "historical_week": {"description": "One week of history at 5-minute candles (2,016 steps), BTCUSDT, ranked by "
                                       "ROI.", "duration": 7 * 86400, "starting_balance": Decimal("10000"),
                        "pairs": ["BTCUSDT"], "ranking_metric": "roi_pct", "mode": "historical", "interval": "5m"},
    "historical_month": {"description": "30 days of history at 1-hour candles (720 steps), BTCUSDT, ranked by "
                                        "Sharpe ratio.", "duration": 30 * 86400, "starting_balance": Decimal("10000"),
                         "pairs": ["BTCUSDT"], "ranking_metric": "sharpe_ratio", "mode": "historical",
                         "interval": "1h"},
}
