from django.urls import path

from binance import views

# Mounted at /binance/ (config/urls.py): a bot points its Binance base URL at http(s)://<host>/binance.
urlpatterns = [
    path("api/v3/ping", views.PingView.as_view(), name="binance-ping"),
    path("api/v3/time", views.TimeView.as_view(), name="binance-time"),
    path("api/v3/exchangeInfo", views.ExchangeInfoView.as_view(), name="binance-exchange-info"),
    path("api/v3/ticker/price", views.TickerPriceView.as_view(), name="binance-ticker-price"),
    path("api/v3/ticker/24hr", views.Ticker24hView.as_view(), name="binance-ticker-24hr"),
    path("api/v3/ticker/bookTicker", views.BookTickerView.as_view(), name="binance-book-ticker"),
    path("api/v3/avgPrice", views.AvgPriceView.as_view(), name="binance-avg-price"),
    path("api/v3/depth", views.DepthView.as_view(), name="binance-depth"),
    path("api/v3/klines", views.KlinesView.as_view(), name="binance-klines"),
    path("api/v3/trades", views.TradesView.as_view(), name="binance-trades"),
    path("api/v3/aggTrades", views.AggTradesView.as_view(), name="binance-agg-trades"),
    path("api/v3/account", views.AccountView.as_view(), name="binance-account"),
    path("api/v3/order", views.OrderView.as_view(), name="binance-order"),
    path("api/v3/openOrders", views.OpenOrdersView.as_view(), name="binance-open-orders"),
    path("api/v3/allOrders", views.AllOrdersView.as_view(), name="binance-all-orders"),
    path("api/v3/myTrades", views.MyTradesView.as_view(), name="binance-my-trades"),
]
