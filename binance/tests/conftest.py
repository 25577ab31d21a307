from binance.tests.support import binance_server, binance_trader, ccxt_exchange  # noqa: F401
from trading.tests.orders_support import celery_worker, market, trader, trading_namespace  # noqa: F401
