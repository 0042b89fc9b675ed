"""Plain-text tables for the terminal: the one printer behind ``cnncourse grade`` and ``cnncourse demo``."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell, a rule under the header, trailing spaces dropped.

    Args:
        header: the column names.
        rows: the rows, each with one value per column (printed with ``str``).

    Returns:
        The table as one string, lines joined with newlines.

    Example:
        >>> print(text_table(["student", "score"], [["ada", 6], ["bob", 4.5]]))
        student  score
        -------  -----
        ada      6
        bob      4.5
    """
    lines = [[str(v) for v in header]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
