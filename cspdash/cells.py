"""Cells as text and figures: spreadsheet values as the text the person typed, UK-formatted numbers read with explicit
rules (``1,234``, ``85%``), and columns named by their spreadsheet letter.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

FORMULA_PREFIXES = ("=", "+", "-", "@")


def column_letter(j: int) -> str:
    """The spreadsheet letter of the 0-based column ``j``: 0 -> A, 26 -> AA."""
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


_NUMBER = re.compile(r"^[-+]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$|^[-+]?\.[0-9]+$")
_SPACE_GROUPS = re.compile(r"^[-+]?[0-9]{1,3}([ \u00a0\u202f][0-9]{3})+(\.[0-9]+)?%?$")  # 1 234 567: thousands


def parse_number(text: str) -> float | None:
    """A UK-formatted number (``1,234.5``, ``-3``, ``85%``, ``1 234``) or None when the cell is not one: digits
    other than 0-9 (``١٢٣``) and spaces that do not separate thousands (``4 5``) are not read as a number."""
    s = text.strip()
    if _SPACE_GROUPS.match(s):
        s = re.sub(r"[ \u00a0\u202f]", "", s)
    if s.endswith("%"):
        s = s[:-1]
    if not _NUMBER.match(s):
        return None
    v = float(s.replace(",", ""))
    return v if math.isfinite(v) else None


def number_problem(text: str, percent: bool = True) -> tuple[str, str] | None:
    """(why, fix) when ``text`` is not a figure a cell may hold, None when it is one; ``percent`` says whether the
    cell may be written as a percentage (only the value of a percentage indicator may)."""
    s = text.strip()
    if any(ch.isdigit() and not ch.isascii() for ch in s):
        return ("the figure is written with digits other than 0-9", "type the figure with the digits 0 to 9")
    if parse_number(s) is None:
        if re.search(r"[0-9.,]\s+[0-9.,]", s):
            return ("the figure has a space inside it, so it may be two figures or a typing error",
                    "type one figure without spaces, such as 45 or 1,234")
        if s.startswith(FORMULA_PREFIXES) and not re.match(r"^[-+]?[0-9]", s):
            return ("not a number", "remove the formula and type the figure")
        return ("not a number", "type a plain number such as 1234 or 1,234.5")
    if s.endswith("%") and not percent:
        return ("a percentage in a cell that holds a count or a rate",
                "type the number itself (for example 12, not 12%); only a percentage indicator's value may be a "
                "percentage")
    return None


def cell_text(v: object, number_format: str | None = None) -> str:
    """A spreadsheet cell as text: dates as dd/mm/yyyy, whole numbers without ``.0``, and a number shown as a
    percentage (stored 0.85, shown 85%) as the percentage the person typed, ``85%``."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%d/%m/%Y") if (v.hour, v.minute, v.second) == (0, 0, 0) else v.strftime("%d/%m/%Y %H:%M")
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float) and number_format and "%" in re.sub(r'"[^"]*"|\\.', "", number_format):
        pct = round(v * 100, 9)
        return f"{int(pct)}%" if float(pct).is_integer() else f"{pct!r}%"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


# ------------------------------------------------------------------------------------------------
# Reading CSV and XLSX as text
# ------------------------------------------------------------------------------------------------
