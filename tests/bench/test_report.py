"""The suite's table reads the network figures against the 0 ms run and marks the targets of
a 2 ms round trip: processing ≥ 85% of it, latency p50 ≤ 2 round trips (4 ms) over it."""

from __future__ import annotations

from typing import Any

from bench import network, report


def _figures(process_at_1ms: float, p50_at_1ms: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for delay, process, p50 in ((0.0, 10_000.0, 2.0), (0.25, 9_000.0, 3.0),
                                (1.0, process_at_1ms, p50_at_1ms)):
        out[network.key(delay, "process")] = process
        out[network.key(delay, "floor process")] = 20_000.0
        out[network.key(delay, "latency p50")] = p50
        out[network.key(delay, "latency p99")] = p50 * 4
        out[network.key(delay, "floor latency p50")] = p50 / 2 + 1.0
        out[network.key(delay, "round trip p50")] = 0.5 + 2.2 * delay
    network.compare(out, network.DELAYS)
    return out


def _cell(results: dict[str, Any], key: str) -> tuple[str, str]:
    row = next(row for row in report.ROWS if row.key == key)
    return report.cells(row, "postgres", results)


def test_a_2ms_round_trip_is_read_against_the_run_without_delay() -> None:
    good, bad = _figures(8_600.0, 5.9), _figures(8_400.0, 6.1)
    process_vs = network.key(1.0, "process vs 0 ms")
    p50_over = network.key(1.0, "latency p50 over 0 ms")
    assert _cell(good, process_vs)[0] == "86% [green]✓[/]"
    assert _cell(bad, process_vs)[0] == "84% [red]✗[/]"
    assert _cell(good, p50_over)[0] == "3.90 ms [green]✓[/]"
    assert _cell(bad, p50_over)[0] == "4.10 ms [red]✗[/]"
    # each delay's processing also against the raw floor through the same proxy
    assert _cell(good, network.key(1.0, "process")) == ("8,600/s", "43%")
    # and its latency: the p50 against the raw latency floor's, and what the delay adds to
    # the floor's p50 beside what it adds to ours (no target: it is the network's share)
    assert _cell(good, network.key(1.0, "latency p50")) == ("5.90 ms", "149%")
    assert _cell(good, network.key(1.0, "floor latency p50 over 0 ms")) == ("1.95 ms", "")
    # and what one turn really costs through the proxy at each delay
    assert _cell(good, network.key(1.0, "round trip p50 over 0 ms")) == ("2.20 ms", "")
    # no target at 0.25 ms, and SQLite has no network figures
    assert _cell(good, network.key(0.25, "process vs 0 ms"))[0] == "90%"
    row = next(row for row in report.ROWS if row.key == process_vs)
    assert report.cells(row, "sqlite", {}) == ("-", "-")
