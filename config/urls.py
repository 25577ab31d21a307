from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.views import landing

# Django tries these in order, pattern by pattern, on every request: the agents' hot paths first (orders and
# account reads, backtest steps, battles). Each app's paths start with segments of their own (trading: account/,
# trade/; battles: battles/; ...), so the order changes which app is tried first, never which view answers.
api_v1 = [
    path("", include("trading.urls")),
    path("backtest/", include("backtests.urls")),
    path("", include("battles.urls")),
    path("", include("market.urls")),
    path("", include("streams.urls")),
    path("", include("agents.urls")),
    path("", include("accounts.urls")),
    path("", include("common.urls")),
    path("analytics/", include("analytics.urls")),
]

urlpatterns = [
    path("", landing, name="landing"),
    path("api/v1/", include(api_v1)),
    path("binance/", include("binance.urls")),  # the Binance-compatible door (API.md), for ccxt/Freqtrade bots
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
]

handler400 = "common.exception_handler.json_400"
handler403 = "common.exception_handler.json_403"
handler404 = "common.exception_handler.json_404"
handler500 = "common.exception_handler.json_500"
