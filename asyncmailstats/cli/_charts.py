"""Plain-text charts and tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """Return one block character per value, scaled to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return _BLOCKS[0] * len(values)
    steps = len(_BLOCKS) - 1
    return "".join(_BLOCKS[round(v / top * steps)] if v > 0 else _BLOCKS[0] for v in values)


def bar_chart(rows: Sequence[tuple[str, float]], *, width: int = 40) -> str:
    """Return a horizontal bar per ``(label, value)`` row, scaled to the largest value."""
    if not rows:
        return "(no data)"
    label_width = max(len(label) for label, _ in rows)
    top = max(value for _, value in rows) or 1
    lines = []
    for label, value in rows:
        bar = "█" * max(1 if value > 0 else 0, round(value / top * width))
        lines.append(f"{label.rjust(label_width)} │{bar} {value:,.0f}")
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a simple aligned table; numbers are right-aligned."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("─" * w for w in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
