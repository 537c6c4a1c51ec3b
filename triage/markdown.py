"""Markdown written by people (comments, descriptions, decisions), rendered safely.

Markdown allows raw HTML, so its output goes through nh3 (the Rust `ammonia` sanitiser):
only an allow-list of tags and attributes survives, links get rel="noopener noreferrer",
and only http(s)/mailto URLs are kept (no `javascript:`).
"""

import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4",
    "hr", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def render_markdown(text: str) -> SafeString:
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def mentions(text: str) -> set[str]:
    """Usernames mentioned as @name."""
    return {match.rstrip(".") for match in MENTION.findall(text or "")}
