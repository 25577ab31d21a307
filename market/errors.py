"""Market errors: members of the one domain exception family (``common.errors``)."""

from rest_framework import status

from common.errors import ApplicationError, NotFound


class UnknownSymbol(NotFound):
    """No such instrument. 404 on the market API; the trading engine may re-raise it as a 422 order rejection."""

    code = "UNKNOWN_SYMBOL"

    def __init__(self, symbol: str):
        super().__init__(f"Unknown symbol {symbol!r}.", details={"symbol": symbol})
        self.symbol = symbol


class PriceUnavailable(ApplicationError):
    """The pair is listed but no price has been recorded yet (the feed is not running or has not ticked)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "PRICE_UNAVAILABLE"

    def __init__(self, symbol: str):
        super().__init__(f"No price for {symbol} yet: the price feed has not published one.",
                         details={"symbol": symbol})
        self.symbol = symbol
