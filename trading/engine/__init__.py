"""The pure-Python trading core: validation, fees, slippage, matching, risk and positions. No Django here.

Live workers, live battles, historical battles and backtests all call these same functions; see docs/engine.md.

    validation.validate_intent  -> a normalised OrderIntent, or EngineRejection
    matching.preview            -> Preview (est price, fee, slippage, balance_required), same code as the fill
    risk.run_chain / enforce    -> the ordered risk rules over a RiskContext
    matching.match_order        -> MatchResult for an order on arrival (or a conditional order on a tick)
    matching.match_resting      -> MatchResult for a resting limit order on a tick
    matching.crossing_bounds    -> which resting orders a tick reaches, as (op, price) range bounds
    positions.apply_fill        -> the average-cost position after a fill, and the PnL it realized
    fees.fee_rate_for / fee_for -> the tiered maker/taker rate, and a fee rounded up to 8 places
    lifecycle.*                 -> the order lifecycle over plain state: prepare, accept, execute, sweep, settle,
                                   close, valuation; each returns its new state and domain events (events.py)
    memory.MemoryExchange       -> the in-memory driver of the lifecycle (backtests); the live one is trading/services
"""

from ._native import activate as _activate

# The compiled build of these very sources when there is one (bin/build-engine; see _native.py), else the .py files.
COMPILED: bool = _activate(__path__)
