"""Inventory strings in Markdown: text, never markup.

A Markdown renderer passes raw HTML through and reads `*`, `_`, `[`, `` ` ``, `|` and friends as
formatting; every inventory string written into a Markdown document goes through `md()`.
"""

from __future__ import annotations

import html
import re

# inline Markdown punctuation; line-start syntax (#, -, 1.) never arises: values follow a label
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: object) -> str:
    """Escape `value` for Markdown: HTML entities for `<`, `>` and `&`, a backslash before inline
    Markdown punctuation, line breaks and tabs as spaces (a table row stays one row)."""
    text = "" if value is None else str(value)
    text = html.escape(text, quote=False)
    text = _SPECIAL.sub(r"\\\1", text)
    return re.sub(r"[\r\n\t\u2028\u2029]+", " ", text)
