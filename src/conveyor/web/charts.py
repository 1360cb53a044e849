"""Bar charts drawn on the server as SVG: no chart library, no script, nothing for the
Content-Security-Policy to allow. Each bar stacks failures (red) on successes (blue); hovering
a bar shows its numbers (an SVG <title>)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import markupsafe

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 170, 36, 18, 8


@dataclasses.dataclass(frozen=True, slots=True)
class Bar:
    label: str
    """Under the bar (shown for every n-th bar so labels never overlap)."""
    ok: int
    bad: int


def bars(data: Sequence[Bar], title: str, ok_name: str = "completed",
         bad_name: str = "failed") -> markupsafe.Markup:
    """An SVG bar chart of `data`; every text in it is escaped."""
    peak = max([b.ok + b.bad for b in data] + [1])
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(data), 1)
    every = max(1, round(len(data) / 8))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{markupsafe.escape(title)}</title>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" '
             f'y2="{TOP + plot_h}"/>',
             f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{peak}</text>',
             f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>']
    for index, bar in enumerate(data):
        x = LEFT + index * step + step * 0.1
        width = max(step * 0.8, 1.0)
        ok_h = plot_h * bar.ok / peak
        bad_h = plot_h * bar.bad / peak
        tip = markupsafe.escape(f"{bar.label}: {bar.ok} {ok_name}, {bar.bad} {bad_name}")
        parts.append(f"<g><title>{tip}</title>")
        parts.append(_rect("bar-ok", x, TOP + plot_h - ok_h, width, ok_h))
        parts.append(_rect("bar-bad", x, TOP + plot_h - ok_h - bad_h, width, bad_h))
        parts.append("</g>")
        if index % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 4}">'
                         f"{markupsafe.escape(bar.label)}</text>")
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def _rect(css: str, x: float, y: float, width: float, height: float) -> str:
    return (f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}"/>')
