"""The rows of a bulk insert held column by column: what every row shares, once.

A bulk enqueue gives rows of one job type with one set of options: they differ in their
arguments (and, for unique or limited jobs, in their keys) and nothing else. Held as columns,
a shared value is checked once and sent once (SQLite binds it once, PostgreSQL as one
scalar), and a `NewJob` is built only where one is read (hooks, an `Enqueued` job, the
row-by-row paths of an insert). `columns` gives the same split for any sequence of rows.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from conveyor import model

FIELDS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(model.NewJob))
DEFAULTS: dict[str, Any] = {field.name: field.default for field in dataclasses.fields(model.NewJob)
                             if field.default is not dataclasses.MISSING}
DEPENDENCIES = ("depends_on", "depends_on_rows")
COLUMNS_FROM = 16
"""Rows from which a backend writes column by column. A few rows (a group commit of single
enqueues) are written as before: there the extra statement of the column-wise write (its
ids drawn or read first) costs more than the columns save."""
_ALL_FIELDS = operator.attrgetter(*FIELDS)
TRANSACTIONAL = ("unique_key", "batch_id", *DEPENDENCIES)
"""Fields that make an insert take several statements (see `inserts.needs_transaction`)."""


class JobRows(Sequence[model.NewJob]):
    """Rows as columns: `shared` values (every field, unless it varies) and `varying`
    columns, one value a row. Reads like the list of `NewJob`s it stands for."""

    __slots__ = ("_length", "shared", "varying")

    def __init__(self, shared: Mapping[str, Any], varying: Mapping[str, list[Any]],
                 length: int) -> None:
        if any(len(column) != length for column in varying.values()):
            raise ValueError(f"every varying column must hold {length} values")
        self.shared: dict[str, Any] = {key: value for key, value in {**DEFAULTS, **shared}.items()
                                       if key not in varying}
        self.varying: dict[str, list[Any]] = dict(varying)
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> model.NewJob: ...

    @overload
    def __getitem__(self, index: slice) -> list[model.NewJob]: ...

    def __getitem__(self, index: int | slice) -> model.NewJob | list[model.NewJob]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError("row index out of range")
        return self._row(index % self._length)

    def __iter__(self) -> Iterator[model.NewJob]:
        return map(self._row, range(self._length))

    def __repr__(self) -> str:
        return f"<JobRows: {self._length} rows, varying {sorted(self.varying)}>"

    def _row(self, index: int) -> model.NewJob:
        return model.NewJob(**self.shared,
                            **{key: column[index] for key, column in self.varying.items()})

    def column(self, field: str) -> list[Any]:
        """`field` of every row."""
        found = self.varying.get(field)
        return found if found is not None else [self.shared[field]] * self._length

    def any_set(self, *fields: str) -> bool:
        """Whether some row has one of `fields` set (not None, not empty)."""
        for field in fields:
            found = self.varying.get(field)
            if any(found) if found is not None else self.shared[field]:
                return True
        return False

    def with_shared(self, **values: Any) -> JobRows:
        """The same rows with `values` set in every one (e.g. their batch's id)."""
        varying = {key: column for key, column in self.varying.items() if key not in values}
        return JobRows({**self.shared, **values}, varying, self._length)


def of(jobs: Sequence[model.NewJob]) -> JobRows:
    """`jobs` as columns; a field with one value in every row is shared."""
    if isinstance(jobs, JobRows):
        return jobs
    if not jobs:
        return JobRows({}, {}, 0)
    shared, varying = {}, {}
    for field, values in zip(FIELDS, zip(*map(_ALL_FIELDS, jobs), strict=True), strict=True):
        if values.count(values[0]) == len(values):
            shared[field] = values[0]
        else:
            varying[field] = list(values)
    return JobRows(shared, varying, len(jobs))


def column(jobs: Sequence[model.NewJob], field: str) -> list[Any]:
    """`field` of every row of `jobs`."""
    if isinstance(jobs, JobRows):
        return jobs.column(field)
    return [getattr(job, field) for job in jobs]


def values_of(jobs: Sequence[model.NewJob], field: str) -> list[Any]:
    """`field` of every row of `jobs`, or once where the rows share it."""
    if isinstance(jobs, JobRows):
        found = jobs.varying.get(field)
        return [jobs.shared[field]] if found is None else found
    return [getattr(job, field) for job in jobs]


def fold(varying: dict[str, list[Any]], shared: dict[str, Any]) -> None:
    """Move each column of `varying` holding one value throughout into `shared`."""
    for key, values in list(varying.items()):
        if values and values.count(values[0]) == len(values):
            shared[key] = values[0]
            del varying[key]


def state_values(states: Sequence[model.JobState]) -> list[str]:
    """The states as text (one state throughout, as in most bulk writes, converted once)."""
    if states and states.count(states[0]) == len(states):
        return [states[0].value] * len(states)
    return [state.value for state in states]
