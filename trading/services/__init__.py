"""Services of the trading core (HackSoft style: writes here, reads in ``trading.selectors*``).

- ``orders``: order_place, order_preview, order_cancel, order_cancel_all, quotes_replace, position_close
- ``fills``: order_execute (the ``fill_order`` task)
- ``sweep``: sweep_symbol (the ``sweep_symbol`` task)
- ``settlement``: fills, ledger postings, order and position updates from the engine's results
- ``positions``: positions at mark, portfolio, equity snapshots
- ``risk`` / ``fees`` / ``market``: what the engine's rules need from the database and Redis
"""


def order_cancel_all(*, wallet, symbol=None, reason: str = "cancel-all"):
    """The kill switch (also for ``agents.services.agent_reset``): see ``trading.services.orders``."""
    from trading.services.orders import order_cancel_all as cancel_all

    return cancel_all(wallet=wallet, symbol=symbol, reason=reason)
