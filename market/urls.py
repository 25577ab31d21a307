from django.urls import path

from market import views

urlpatterns = [
    path("market/pairs", views.PairListApi.as_view(), name="market-pairs"),
    path("market/prices", views.PriceListApi.as_view(), name="market-prices"),
    path("market/price/<str:symbol>", views.PriceApi.as_view(), name="market-price"),
    path("market/ticker/<str:symbol>", views.TickerApi.as_view(), name="market-ticker"),
    path("market/candles/<str:symbol>", views.CandleListApi.as_view(), name="market-candles"),
    path("market/orderbook/<str:symbol>", views.OrderBookApi.as_view(), name="market-orderbook"),
    path("market/fees", views.FeeScheduleApi.as_view(), name="market-fees"),
]
