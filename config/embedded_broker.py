"""The embedded mode's Celery broker: kombu's file-system transport with atomic writes.

Kombu's own ``_put`` creates the message file and then writes it, so a worker polling the folder can pick up an
empty file, fail to decode it and delete it (the message is lost and the worker dies). Here the message is written
under a name the consumer ignores and renamed into place (``os.replace`` is atomic on one file system).
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # not "<queue>.msg" after the first dot: the consumer skips it
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES.setdefault("atomicfs", "config.embedded_broker:Transport")
