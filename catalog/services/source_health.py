"""A template source's health in words: what its *last* sync found, from the result it stored
(`TemplateSource.last_sync_result`, written by `sources.sync_source`).

Each shape of a stored error becomes one sentence a platform admin can act on: the source
could not be read at all (`error`), a tag or one template of a tag could not be imported
(`failed`), a tag's signature was refused (`refused`), a tag moved after it was read
(`moved`), a tag skipped because it failed at the same commit before (`skipped`). Results
written by older versions (missing keys, other types) are read as far as they go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import TemplateSource

# State words of a source's last sync, shown as badges.
NEVER = "never synced"
HEALTHY = "healthy"
FAILED = "failed"

_UNEXPECTED = re.compile(r"^unexpected (\w+)$")
_NO_FOLDER = re.compile(r"^(?P<path>.*): no such folder at (?P<ref>.+)$")


def _sentence(text: str) -> str:
    """`text` as a sentence: a capital first letter and a closing full stop."""
    text = " ".join(str(text).split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _what(label: str) -> str:
    """`modules/topic@v0.2.0` → `Tag v0.2.0 (modules/topic)`; `v1.0.0` → `Tag v1.0.0`."""
    path, at, ref = str(label).rpartition("@")
    if at and path and "/" not in ref and not re.fullmatch(r"[0-9a-f]{12}", ref):
        if path == ".":
            return f"Tag {ref}"
        return f"Tag {ref} ({path})"
    return f"Tag {label}"


def _reason(reason: Any) -> str:
    """A stored reason for a tag, in words (without the closing full stop)."""
    text = " ".join(str(reason).split()).rstrip(".")
    match = _UNEXPECTED.match(text)
    if match:
        return (
            f"an unexpected error ({match[1]}) stopped the import; the worker's log has the "
            "details, and the next sync tries the tag again"
        )
    match = _NO_FOLDER.match(text)
    if match:
        return f"the folder {match['path']} does not exist at this tag"
    if text.startswith("signature not verified"):
        detail = text.removeprefix("signature not verified").lstrip(": ")
        why = f" ({detail})" if detail else ""
        return f"its signature does not match the source's signing key{why}"
    if text.startswith("the signing key could not be loaded"):
        return text
    if text.startswith("git "):
        return f"Git could not read it: {text}"
    if "already comes from" in text:
        return text
    return f"the template is not valid: {text}" if text else "no reason was recorded"


def failure_sentence(label: str, reason: Any) -> str:
    """One tag (or one template of a tag) that could not be imported."""
    return _sentence(f"{_what(label)} was not imported: {_reason(reason)}")


def refusal_sentence(tag: str, reason: Any) -> str:
    """One tag refused by the signature check."""
    return _sentence(f"{_what(tag)} was refused: {_reason(reason)}")


def moved_sentence(tag: str) -> str:
    return _sentence(
        f"{_what(tag)} now points at another commit than when it was imported; its version "
        "keeps the files it was read from (push a new tag to publish the change)"
    )


def skipped_sentence(tag: str, reason: Any) -> str:
    text = " ".join(str(reason).split()).rstrip(".")
    why = f" ({text})" if text else ""
    return _sentence(
        f"{_what(tag)} was skipped: it failed at the same commit in an earlier sync{why}; "
        "move the tag or push a new one to try again"
    )


def source_error_sentence(error: Any) -> str:
    """The source as a whole could not be read (clone failed, too many tags, worker lost)."""
    text = " ".join(str(error).split()).rstrip(".")
    if not text:
        return ""
    if "refs match" in text:
        return _sentence(f"Too many tags match the pattern: {text}")
    if "lost" in text.lower():
        return _sentence(f"The sync did not finish: {text}")
    return _sentence(f"The repository could not be read: {text}")


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):  # an older shape: labels only
        return {str(item): "" for item in value}
    return {}


def _names(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    if isinstance(value, dict):
        return [str(item) for item in value]
    return []


def error_sentences(result: Any) -> list[str]:
    """The errors of one stored sync result, one sentence each ([] when there were none)."""
    if not isinstance(result, dict):
        return []
    sentences = []
    error = source_error_sentence(result.get("error") or "")
    if error:
        sentences.append(error)
    sentences += [failure_sentence(k, v) for k, v in _mapping(result.get("failed")).items()]
    sentences += [refusal_sentence(k, v) for k, v in _mapping(result.get("refused")).items()]
    return sentences


def skipped_sentences(result: Any) -> list[str]:
    """The tags the sync did not read, and why (known broken at that commit, moved)."""
    if not isinstance(result, dict):
        return []
    sentences = [skipped_sentence(k, v) for k, v in _mapping(result.get("skipped")).items()]
    return sentences + [moved_sentence(tag) for tag in _names(result.get("moved"))]


@dataclass(frozen=True)
class SourceHealth:
    """What a source's page says about its last sync."""

    state: str  # NEVER, HEALTHY or FAILED
    at: datetime | None
    refs: int = 0
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY


def health(source: TemplateSource) -> SourceHealth:
    """The health of a source: its last sync only (a tag that failed in an older sync and was
    skipped since no longer counts)."""
    result = source.last_sync_result if isinstance(source.last_sync_result, dict) else {}
    if source.last_sync_at is None and not result:
        return SourceHealth(state=NEVER, at=None)
    errors = error_sentences(result)
    ok = bool(result.get("ok", not errors)) and not errors
    if not ok and not errors:
        errors = ["The last sync failed without a recorded reason."]
    refs = result.get("refs")
    return SourceHealth(
        state=HEALTHY if ok else FAILED,
        at=source.last_sync_at,
        refs=refs if isinstance(refs, int) else 0,
        created=_names(result.get("created")),
        errors=errors,
        skipped=skipped_sentences(result),
    )
