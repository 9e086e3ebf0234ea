"""Markdown for editor-written texts (shop pages, FAQ, lesson bodies), rendered safely: raw
HTML is escaped, link targets other than http(s)/mailto/relative are dropped (markdown-it's
link validation), so an editor's typo or a pasted script can never run in a customer's page."""

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#")


def _validate_link(url: str) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_SCHEMES) or ":" not in lowered.split("/", 1)[0]


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")
_md.validateLink = _validate_link  # type: ignore[method-assign]


def render_markdown(text: str) -> SafeString:
    return mark_safe(_md.render(text or ""))  # noqa: S308 - html=False escapes raw HTML
