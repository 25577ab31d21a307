from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from streams import views

urlpatterns = [
    # Authenticated by key or bearer token, never by cookie: no CSRF check (as for every DRF view).
    path("stream/user", csrf_exempt(views.UserStreamView.as_view()), name="stream-user"),
    path("stream/events", csrf_exempt(views.EventsStreamView.as_view()), name="stream-events"),
    path("webhooks", views.WebhookListCreateView.as_view(), name="webhooks"),
    path("webhooks/deliveries/<uuid:delivery_id>/resend", views.WebhookDeliveryResendView.as_view(),
         name="webhook-delivery-resend"),
    path("webhooks/<uuid:webhook_id>", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:webhook_id>/deliveries", views.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
    path("webhooks/<uuid:webhook_id>/test", views.WebhookTestView.as_view(), name="webhook-test"),
]
