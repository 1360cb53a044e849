"""Server-side SVG charts: bar heights follow the data, every text is escaped."""

from __future__ import annotations

import re

from conveyor.web import charts


def test_bars_scale_to_the_peak_and_escape_labels() -> None:
    svg = str(charts.bars([charts.Bar("09:00", 3, 1), charts.Bar("<b>", 0, 0),
                           charts.Bar("09:02", 8, 0)], "Jobs <per> minute"))
    heights = [float(h) for h in re.findall(r'class="bar-ok"[^>]*height="([0-9.]+)"', svg)]
    assert heights[2] == max(heights) and heights[1] == 0.0
    assert heights[0] / heights[2] == 3 / 8
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "Jobs &lt;per&gt; minute" in svg
    assert "09:00: 3 completed, 1 failed" in svg
    assert "<script" not in svg and "style=" not in svg
    assert "svg" in str(charts.bars([], "empty"))
