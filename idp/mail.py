"""E-mail on a developer's machine: each message a file, and the first one a process writes
says where (once), so commands print their result instead of whole e-mail bodies."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.filebased import EmailBackend


class FileBackend(EmailBackend):
    """Django's file backend (one file per connection in EMAIL_FILE_PATH) that tells once
    per process, on stderr, where the messages went."""

    told = False

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        sent = super().send_messages(email_messages)
        if sent and not FileBackend.told:
            FileBackend.told = True
            where = getattr(self, "file_path", "EMAIL_FILE_PATH")
            sys.stderr.write(f"(e-mails are written to {where}, not sent)\n")
            sys.stderr.flush()
        return sent
