import os

from celery import Celery

from config.embedded_broker import register as register_embedded_broker

register_embedded_broker()  # the "atomicfs://" broker of embedded mode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paper_trading")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
