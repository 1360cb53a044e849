"""`bench.throughput.median_of`: repeated processing runs count by their median."""

from __future__ import annotations

from bench import report, throughput


def _run(rate: float, done: int = 20_000) -> throughput.ProcessRun:
    return throughput.ProcessRun(rate=rate, done=done, rss=[])


def test_the_median_run_counts_and_every_rate_is_kept_in_run_order() -> None:
    got = throughput.median_of([_run(41_000), _run(27_000), _run(33_000)])
    assert (got.rate, got.done) == (33_000, 20_000)
    assert got.rates == [41_000, 27_000, 33_000]


def test_a_run_that_left_jobs_undone_shows_in_done() -> None:
    got = throughput.median_of([_run(41_000), _run(27_000, done=19_990), _run(33_000)])
    assert (got.rate, got.done) == (33_000, 19_990)


def test_of_an_even_count_the_lower_middle_counts() -> None:
    assert throughput.median_of([_run(4.0), _run(1.0), _run(3.0), _run(2.0)]).rate == 2.0


def test_the_report_shows_each_run() -> None:
    row = next(row for row in report.ROWS if row.key == "process runs")
    assert report.cells(row, "sqlite", {"process runs": [41_000.0, 27_000.0]}) == (
        "41.0k / 27.0k", "")
