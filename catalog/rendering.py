"""README Markdown -> safe HTML, cached by the version's content hash."""

from __future__ import annotations

import markdown
import nh3
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}


def render_markdown(text: str, *, cache_key: str | None = None) -> SafeString:
    """Markdown rendered, then sanitised with nh3: scripts, handlers and styles never survive."""
    key = f"catalog:readme:{cache_key}" if cache_key else None
    if key:
        cached = cache.get(key)
        if cached is not None:
            return mark_safe(cached)  # noqa: S308 - sanitised before caching
    html = markdown.markdown(text or "", extensions=["tables", "fenced_code", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        link_rel="noopener noreferrer nofollow",
        url_schemes={"http", "https", "mailto"},
    )
    if key:
        cache.set(key, clean, 24 * 3600)
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 above
