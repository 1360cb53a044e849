"""What an enqueue returns: the stored jobs, each built only when it is read.

Building a `Job` (decoding its arguments back, setting twenty-odd fields) costs more than
inserting its row; a bulk enqueue whose caller only counts the jobs or reads their ids should
not pay for 20,000 of them. `Enqueued` indexes, iterates, unpacks and compares like the list
of jobs it stands for, and says at once which ids were stored and which were duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import overload

from conveyor import encoding, model, storedjob


class Enqueued(Sequence[model.Job]):
    """The jobs an enqueue stored, in the order they were given (a `Sequence` of `Job`).
    `ids` and `duplicates` are read without building any job."""

    __slots__ = ("_existing", "_inserted", "_jobs", "_now", "_rows")

    def __init__(self, rows: Sequence[model.NewJob], inserted: Sequence[model.Inserted],
                 now: datetime, existing: Mapping[int, model.Job] | None = None) -> None:
        if len(rows) != len(inserted):
            raise ValueError(f"{len(rows)} rows but {len(inserted)} insert results")
        self._rows = rows
        self._inserted = inserted
        self._now = now
        self._existing = existing or {}
        """By position: the stored job a duplicate of a unique job stands for."""
        self._jobs: list[model.Job | None] = [None] * len(rows)

    @property
    def ids(self) -> list[int]:
        """The id of each job (for a duplicate, the existing job's)."""
        return [done.id for done in self._inserted]

    @property
    def duplicates(self) -> list[bool]:
        """For each job, whether it was a duplicate of an existing unique job."""
        return [done.duplicate for done in self._inserted]

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> model.Job: ...

    @overload
    def __getitem__(self, index: slice) -> list[model.Job]: ...

    def __getitem__(self, index: int | slice) -> model.Job | list[model.Job]:
        if isinstance(index, slice):
            return [self._job(i) for i in range(*index.indices(len(self._rows)))]
        job = self._jobs[index]  # IndexError and negative indexes as a list has them
        return job if job is not None else self._job(index % len(self._rows))

    def __iter__(self) -> Iterator[model.Job]:
        jobs = self._jobs
        for position, job in enumerate(jobs):
            yield job if job is not None else self._job(position)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Enqueued | list):  # a list is not equal to a tuple either
            return len(self) == len(other) and all(
                a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list

    def __repr__(self) -> str:
        ids = self.ids
        shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
        return f"<Enqueued: {len(ids)} job{'s' * (len(ids) != 1)}, ids [{shown}]>"

    def _job(self, position: int) -> model.Job:
        job = self._existing.get(position)
        if job is None:
            row = self._rows[position]
            job = job_of(row, self._inserted[position], self._now,
                         self.ids if row.depends_on_rows else ())
        self._jobs[position] = job
        return job


def job_of(row: model.NewJob, done: model.Inserted, now: datetime,
           ids: Sequence[int] = ()) -> model.Job:
    """The job a newly inserted row became (what reading it back would return), built as a
    stored row is: its arguments decoded from the row's JSON when first read (the
    dataclass `__init__` and three decodes cost a sixth of a single enqueue). `ids` are the
    ids of the call's rows, which `depends_on_rows` points into."""
    meta_json = row.meta_json
    if row.depends_on or row.depends_on_rows:
        meta_json = encoding.meta_with_dependencies(
            meta_json, [*row.depends_on, *(ids[k] for k in row.depends_on_rows)])
    rate_keys = tuple(str(pair[0]) for pair in encoding.loads(row.rate_keys_json)) \
        if row.rate_keys_json else ()
    job = storedjob.stored_job(encoding.loads, (
        done.id, row.name, row.queue, done.state, row.priority, row.args_json,
        row.kwargs_json, meta_json, 0, row.max_attempts, row.run_at, now, None, None,
        None, None, None, rate_keys, row.batch_id))
    if done.duplicate:
        object.__setattr__(job, "duplicate", True)
    return job
