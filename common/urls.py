from django.urls import path

from common import views

urlpatterns = [
    path("", views.ApiIndexView.as_view(), name="api-index"),
    path("health", views.HealthView.as_view(), name="health"),
    path("health/live", views.LiveView.as_view(), name="health-live"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
]
