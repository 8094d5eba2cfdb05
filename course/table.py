"""Plain-text tables, the one formatter behind every table the library prints."""

from __future__ import annotations


def format_table(head, rows, numbers_right: bool = False) -> list[str]:
    """Lines of an aligned table: ``head`` (column names) then ``rows`` (lists of strings).

    Columns are separated by two spaces and padded to their widest cell; trailing spaces are
    stripped. numbers_right: the cells of every column but the first are right-aligned in the
    body rows (the header stays left-aligned), as for columns of numbers.
    """
    cells = [list(head)] + [list(r) for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(head))]
    return ["  ".join(c.rjust(w) if numbers_right and i and k else c.ljust(w)
                      for k, (c, w) in enumerate(zip(r, widths))).rstrip()
            for i, r in enumerate(cells)]
