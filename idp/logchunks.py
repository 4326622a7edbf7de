"""A job's log stored as numbered chunks (`seq`, character `offset`, `text`) and read back a
page at a time from a character offset: the shape a Terraform run's log and a deployment's
log share, so the portal's live log and the API page both the same way."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def read_page(chunks: QuerySet[Any], offset: int, limit: int) -> tuple[str, int]:
    """The log text from character `offset`, at most `limit` characters, and the offset to
    ask for next. `chunks`: the log's chunk rows (fields `seq`, `offset`, `text`)."""
    page = chunks.filter(offset__lt=offset + limit).order_by("seq")
    first = chunks.filter(offset__lte=offset).order_by("-seq").first()
    if first is not None:
        page = page.filter(seq__gte=first.seq)
    parts: list[str] = []
    for chunk in page:
        start = max(0, offset - chunk.offset)
        parts.append(chunk.text[start:])
    text = "".join(parts)[:limit]
    return text, offset + len(text)
