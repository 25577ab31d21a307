from django.urls import path

from . import views

urlpatterns = [
    path("create", views.CreateView.as_view(), name="backtest-create"),
    path("list", views.ListView.as_view(), name="backtest-list"),
    path("compare", views.CompareView.as_view(), name="backtest-compare"),
    path("best", views.BestView.as_view(), name="backtest-best"),
    path("<uuid:session_id>/start", views.StartView.as_view(), name="backtest-start"),
    path("<uuid:session_id>/step", views.StepView.as_view(), name="backtest-step"),
    path("<uuid:session_id>/step/batch", views.StepBatchView.as_view(), name="backtest-step-batch"),
    path("<uuid:session_id>/cancel", views.CancelView.as_view(), name="backtest-cancel"),
    path("<uuid:session_id>/trade/order", views.OrderView.as_view(), name="backtest-order"),
    path("<uuid:session_id>/trade/orders", views.OrdersView.as_view(), name="backtest-orders"),
    path("<uuid:session_id>/trade/order/<str:order_id>", views.OrderCancelView.as_view(), name="backtest-order-cancel"),
    path("<uuid:session_id>/market/prices", views.PricesView.as_view(), name="backtest-prices"),
    path("<uuid:session_id>/market/candles/<str:symbol>", views.CandlesView.as_view(), name="backtest-candles"),
    path("<uuid:session_id>/account/balance", views.BalanceView.as_view(), name="backtest-balance"),
    path("<uuid:session_id>/account/positions", views.PositionsView.as_view(), name="backtest-positions"),
    path("<uuid:session_id>/status", views.StatusView.as_view(), name="backtest-status"),
    path("<uuid:session_id>/results", views.ResultsView.as_view(), name="backtest-results"),
    path("<uuid:session_id>/results/equity-curve", views.EquityCurveView.as_view(), name="backtest-equity-curve"),
    path("<uuid:session_id>/results/trades", views.TradesView.as_view(), name="backtest-trades"),
]
