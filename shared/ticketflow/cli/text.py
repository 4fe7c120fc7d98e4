"""Text on its way to a terminal: nothing in it is taken as markup or as a control.

Titles, descriptions, model output, file names and exception messages come from
people, models and repositories. Before any of it is printed, C0/C1 control
characters (other than newline and tab) and bidirectional overrides are removed
(an escape sequence or a right-to-left override in a title cannot rewrite the
screen), and rich markup is escaped (``[/x]`` prints as itself).
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

_BIDI = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                               "\u2066\u2067\u2068\u2069"))


def clean(text: str) -> str:
    """``text`` without control characters (newline and tab kept) or bidi controls."""
    text = text.translate(_BIDI)
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def term(text: object) -> str:
    """``text`` made safe to print with rich: cleaned, then markup-escaped."""
    return escape(clean(str(text)))
