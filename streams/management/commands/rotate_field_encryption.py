"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY (after a key rotation).

Covers agent request-signing secrets and webhook secrets. Idempotent; afterwards the old keys can be removed.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import AgentKey
from common.crypto import rotate
from streams.models import WebhookEndpoint
from streams.services import endpoints_changed


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first FIELD_ENCRYPTION_KEY (run after adding a new key first)."

    def handle(self, *args, **options):
        done = 0
        with transaction.atomic():
            for pk, token in (AgentKey.objects.exclude(signing_secret_encrypted="").select_for_update()
                              .values_list("pk", "signing_secret_encrypted")):
                AgentKey.objects.filter(pk=pk).update(signing_secret_encrypted=rotate(token))
                done += 1
            for pk, token in (WebhookEndpoint.objects.exclude(secret_encrypted="").select_for_update()
                              .values_list("pk", "secret_encrypted")):
                WebhookEndpoint.objects.filter(pk=pk).update(secret_encrypted=rotate(token))
                done += 1
            endpoints_changed()  # processes cache endpoint rows (streams.services._active_endpoints)
        self.stdout.write(f"re-encrypted {done} secrets with the first FIELD_ENCRYPTION_KEY")
