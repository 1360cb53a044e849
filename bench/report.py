"""The suite's table: figure | SQLite | SQLite/floor | [SQLite/table] | PostgreSQL | PG/floor |
[PG/table] | target.

Targets are the ones of the second performance round (2-core machine). A value cell carries ✓ or ✗
when its figure has a target; a floor cell does when the target is a fraction of the floor. The
table columns (when the tablefloor group ran) read the same figures against the floor on
Conveyor's own table (`bench.floor.schema`): what is left between them and 100% is Conveyor's
code, not its schema.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.table import Table

from bench import network

BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclasses.dataclass(frozen=True)
class Goal:
    at_least: float | None = None
    at_most: float | None = None
    floor_at_least: float | None = None

    def value_ok(self, value: float) -> bool | None:
        if self.at_least is not None:
            return value >= self.at_least
        if self.at_most is not None:
            return value <= self.at_most
        return None

    def floor_ok(self, fraction: float) -> bool | None:
        return None if self.floor_at_least is None else fraction >= self.floor_at_least


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    key: str
    unit: str = "/s"            # "/s" jobs per second, "ms", "MB", "%"
    floor: str | None = None    # the floor figure this one is read against
    goals: dict[str, Goal] = dataclasses.field(default_factory=dict)
    target: str = ""


def _both(goal: Goal) -> dict[str, Goal]:
    return {"sqlite": goal, "postgres": goal}


STAGES_LABEL = "  ... p50 by stage"
TAIL_LABEL = "  ... slowest 1%, mean by stage"
RUNS_LABEL = "  ... each run (the median counts)"
ONE = "floor enqueue one"
BULK = "floor enqueue bulk"
PROC = "floor process"
TABLE_FLOOR_PREFIX = "table floor "
TABLE_FLOOR = {ONE: "table floor enqueue one", BULK: "table floor enqueue bulk",
               PROC: "table floor process"}
"""The floor on Conveyor's table, by the raw floor figure it stands beside."""
FLOOR_P50 = "floor latency p50"
FLOOR_P99 = "floor latency p99"
"""The raw latency floor (PostgreSQL: `bench.floor.latency`); a latency's floor cell is its
multiple of it."""
ENQUEUE_ONE = {"sqlite": Goal(at_least=20_000), "postgres": Goal(floor_at_least=0.8)}


def _network_rows() -> list[Row]:
    """PostgreSQL through the delay proxy: per delay, the figures and (past the first delay)
    each as a fraction of the first's; the targets are those of a 2 ms round trip."""
    base = network.DELAYS[0]
    rows = [Row(f"PG via proxy, {base:g} ms: process vs direct",
                network.key(base, "process vs direct"), unit="%",
                target="(the proxy's own cost)")]
    for delay in network.DELAYS:
        def key(figure: str, delay: float = delay) -> str:
            return network.key(delay, figure)

        def than_base(figure: str, goal: Goal | None = None, target: str = "",
                      unit: str = "%", label: str = f"  ... vs {base:g} ms",
                      delay: float = delay) -> list[Row]:
            if delay == base:
                return []
            return [Row(label, network.key(delay, figure), unit=unit,
                        goals={"postgres": goal} if goal else {}, target=target)]

        two_ms = delay == 1.0  # 1 ms one-way: the 2 ms round trip
        rows += [
            Row(f"PG {delay:g} ms one-way: raw floor", key("floor process")),
            Row(f"PG {delay:g} ms one-way: process", key("process"), floor=key("floor process")),
            *than_base(f"process vs {base:g} ms", Goal(at_least=0.85) if two_ms else None,
                       "≥ 85%" if two_ms else ""),
            Row(f"PG {delay:g} ms one-way: a round trip p50", key("round trip p50"),
                unit="ms"),
            *than_base(f"round trip p50 over {base:g} ms", unit="ms",
                       label=f"  ... minus {base:g} ms"),
            Row(f"PG {delay:g} ms one-way: raw latency floor p50", key("floor latency p50"),
                unit="ms"),
            *than_base(f"floor latency p50 over {base:g} ms", unit="ms",
                       label=f"  ... minus {base:g} ms"),
            Row(f"PG {delay:g} ms one-way: latency p50", key("latency p50"), unit="ms",
                floor=key("floor latency p50")),
            *than_base(f"latency p50 vs {base:g} ms"),
            *than_base(f"latency p50 over {base:g} ms", Goal(at_most=4) if two_ms else None,
                       "≤ +2 round trips (4 ms)" if two_ms else "", unit="ms",
                       label=f"  ... minus {base:g} ms"),
            Row(f"PG {delay:g} ms one-way: latency p99", key("latency p99"), unit="ms"),
            *than_base(f"latency p99 vs {base:g} ms"),
            Row(STAGES_LABEL, key("latency stages"), unit="stages"),
        ]
    return rows


ROWS = [
    Row("raw floor: enqueue one", ONE),
    Row("raw floor: enqueue bulk", BULK),
    Row("raw floor: process, 2 processes", PROC),
    Row("table floor: enqueue one", TABLE_FLOOR[ONE], floor=ONE),
    Row("table floor: enqueue bulk", TABLE_FLOOR[BULK], floor=BULK),
    Row("table floor: process, 2 processes", TABLE_FLOOR[PROC], floor=PROC),
    Row("enqueue one (blocking)", "enqueue one (blocking)", floor=ONE, goals=ENQUEUE_ONE,
        target="SQLite ≥ 20,000/s; PG ≥ 80% floor"),
    Row("enqueue one (async)", "enqueue one (async)", floor=ONE),
    Row("enqueue one, 50 concurrent async callers",
        "enqueue one, 50 concurrent async callers", floor=ONE,
        goals={"sqlite": Goal(at_least=50_000), "postgres": Goal(at_least=15_000)},
        target="SQLite ≥ 50,000/s; PG ≥ 15,000/s"),
    Row("enqueue bulk", "enqueue bulk", floor=BULK,
        goals={"sqlite": Goal(at_least=150_000), "postgres": Goal(at_least=100_000)},
        target="SQLite ≥ 150,000/s; PG ≥ 100,000/s"),
    Row("process no-op, 2 processes", "process", floor=PROC,
        goals=_both(Goal(floor_at_least=0.5)), target="≥ 50% floor"),
    Row(RUNS_LABEL, "process runs", unit="runs"),
    Row("raw floor: latency p50 at 100/s", FLOOR_P50, unit="ms"),
    Row("raw floor: latency p99 at 100/s", FLOOR_P99, unit="ms"),
    Row(STAGES_LABEL, "floor latency stages", unit="stages"),
    Row(TAIL_LABEL, "floor latency tail stages", unit="stages"),
    Row("latency p50 at 100/s", "latency p50", unit="ms", floor=FLOOR_P50,
        goals={"sqlite": Goal(at_most=1.0), "postgres": Goal(at_most=1.5)},
        target="SQLite ≤ 1.0 ms; PG ≤ 1.5 ms"),
    Row("latency p99 at 100/s", "latency p99", unit="ms", floor=FLOOR_P99,
        goals={"sqlite": Goal(at_most=3), "postgres": Goal(at_most=5)},
        target="SQLite ≤ 3 ms; PG ≤ 5 ms"),
    Row(STAGES_LABEL, "latency stages", unit="stages"),
    Row(TAIL_LABEL, "latency tail stages", unit="stages"),
    Row("process, {finished} finished in table", "process, finished in table", floor=PROC),
    Row(RUNS_LABEL, "finished in table runs", unit="runs"),
    Row("  ... vs empty table", "prefilled vs empty", unit="%",
        goals=_both(Goal(at_least=0.8)), target="≥ 80% (≤ 20% slower)"),
    Row("process {jobs} of {backlog} available", "process, deep backlog", floor=PROC),
    Row(RUNS_LABEL, "deep backlog runs", unit="runs"),
    Row("  ... vs {jobs} queued", "backlog vs queued", unit="%",
        goals=_both(Goal(at_least=0.8)), target="≥ 80%"),
    Row("process, {rss_jobs}-job RSS run", "process, RSS run", floor=PROC),
    Row("worker RSS start/peak/end", "worker RSS", unit="rss"),
    Row("worker RSS growth, 2nd half", "worker RSS growth", unit="MB",
        goals=_both(Goal(at_most=3)), target="flat (≤ 3 MB)"),
    Row("process rate-limited (500 keys)", "process rate-limited", floor=PROC),
    Row("unique: enqueue one, new keys", "unique: enqueue one, new keys", floor=ONE),
    Row("unique: enqueue one, duplicates", "unique: enqueue one, duplicates", floor=ONE),
    Row("unique: enqueue bulk, new keys", "unique: enqueue bulk, new keys", floor=BULK),
    Row("batch of {batch} from an iterable", "batch from iterable", floor=BULK),
    Row("  ... peak RSS of the enqueuer", "batch peak RSS", unit="MB"),
    *[Row(f"dashboard page, {{prefill}} jobs: {case}", f"page: {case}", unit="ms",
          goals=_both(Goal(at_most=100)), target="≤ 100 ms")
      for case in ("first page", "deep page (cursor)", "state discarded",
                   "state running + queue mail", "name rare (0.1%)",
                   "text, rare (one scan budget)")],
    Row("dashboard overview, {prefill} jobs", "overview", unit="ms"),
    *_network_rows(),
]


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" [green]✓[/]" if ok else " [red]✗[/]")


def _value(value: Any, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "%":
        return f"{value:.0%}"
    if unit == "runs":
        return " / ".join(f"{rate / 1000:,.1f}k" for rate in value)
    if unit == "stages":
        return "\n".join(f"{name} {ms:.2f} ms" for name, ms in value.items())
    if unit == "rss":
        return "\n".join(f"{w['start']:.0f}/{w['peak']:.0f}/{w['end']:.0f} MB" for w in value)
    return str(value)


def cells(row: Row, backend: str, results: dict[str, Any]) -> tuple[str, str]:
    """The value cell and the floor cell of one row for one backend."""
    if row.key not in results:
        return "-", "-"
    value = results[row.key]
    goal = row.goals.get(backend, Goal())
    marked = row.unit not in ("rss", "stages", "runs")
    shown = _value(value, row.unit) + (_mark(goal.value_ok(value)) if marked else "")
    if row.floor is None or not results.get(row.floor):
        return shown, ""
    fraction = value / results[row.floor]
    return shown, f"{fraction:.0%}{_mark(goal.floor_ok(fraction))}"


def table_cell(row: Row, results: dict[str, Any]) -> str:
    """The row's figure as a fraction of the floor on Conveyor's table, when it has one."""
    table_floor = TABLE_FLOOR.get(row.floor or "")
    if row.key not in results or table_floor is None or row.key == table_floor \
            or not results.get(table_floor):
        return ""
    return f"{results[row.key] / results[table_floor]:.0%}"


def _short(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def table(title: str, by_backend: dict[str, dict[str, Any]], sizes: dict[str, int]) -> Table:
    """One round's table; `sizes` fills the labels (prefill, rss_jobs, batch)."""
    labels = {name: _short(n) for name, n in sizes.items()}
    with_table = any(key in results for results in by_backend.values()
                     for key in TABLE_FLOOR.values())
    out = Table(title=title, title_justify="left")
    out.add_column("figure")
    for backend in by_backend:
        name = BACKENDS[backend]
        short = "PG" if backend == "postgres" else name
        out.add_column(name, justify="right")
        out.add_column(f"{short}/floor", justify="right")
        if with_table:
            out.add_column(f"{short}/table", justify="right")
    out.add_column("target")
    for row in ROWS:
        line = [row.label.format(**labels)]
        for backend, results in by_backend.items():
            line.extend(cells(row, backend, results))
            if with_table:
                line.append(table_cell(row, results))
        out.add_row(*line, row.target)
    return out


def errors(by_backend: dict[str, dict[str, Any]]) -> list[str]:
    return [f"{BACKENDS[b]} {group}: {message}" for b, results in by_backend.items()
            for group, message in results.get("errors", {}).items()]
