from django.urls import path

from trading.api import account
from trading.api import orders as order_views
from trading.api import positions as position_views

urlpatterns = [
    path("account/info", account.AccountInfoView.as_view(), name="account-info"),
    path("account/balance", account.AccountBalanceView.as_view(), name="account-balance"),
    # --- orders, fills, positions (issue 4) ---
    path("account/positions", position_views.PositionsView.as_view(), name="account-positions"),
    path("account/portfolio", position_views.PortfolioView.as_view(), name="account-portfolio"),
    path("trade/order", order_views.OrderCreateView.as_view(), name="trade-order"),
    path("trade/order/preview", order_views.OrderPreviewView.as_view(), name="trade-order-preview"),
    path("trade/order/<str:ref>", order_views.OrderDetailView.as_view(), name="trade-order-detail"),
    path("trade/orders", order_views.OrderListView.as_view(), name="trade-orders"),
    path("trade/orders/open", order_views.OpenOrdersView.as_view(), name="trade-orders-open"),
    path("trade/quotes/bulk", order_views.QuotesBulkView.as_view(), name="trade-quotes-bulk"),
    path("trade/positions/close", order_views.PositionCloseView.as_view(), name="trade-positions-close"),
    path("trade/history", order_views.TradeHistoryView.as_view(), name="trade-history"),
]
