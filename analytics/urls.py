from django.urls import path

from analytics import views

urlpatterns = [
    path("performance", views.PerformanceView.as_view(), name="analytics-performance"),
    path("portfolio/history", views.PortfolioHistoryView.as_view(), name="analytics-portfolio-history"),
    path("leaderboard", views.LeaderboardApiView.as_view(), name="analytics-leaderboard"),
]
