"""Jobs that belong together: batches built from a stream, chains, dependency results.

The app's `batch`, `chain`, `get_batch`, ... are thin wrappers over these functions.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from conveyor import batches, changes, context, errors, model
from conveyor.backends import base

if TYPE_CHECKING:
    from conveyor.app import Conveyor
    from conveyor.registry import Signature

CHUNK = 2000
"""Jobs per insert while streaming a batch: bounded memory, few round trips."""


async def open_batch(app: Conveyor, calls: Iterable[Signature], *, name: str = "",
                     on_success: Signature | None = None, on_failure: Signature | None = None,
                     on_complete: Signature | None = None, allow_failures: bool = False,
                     chunk: int = CHUNK) -> batches.Batch:
    """Insert the jobs of a new batch, streaming `calls` in chunks. A batch that fits in one
    chunk is written atomically; a longer one is sealed after its last chunk (it cannot
    finish before) and, if building it fails half-way, cancelled before the error is
    raised."""
    spec = base.BatchSpec(name=str(name), allow_failures=bool(allow_failures),
                          callbacks_json=batches.encode_callbacks({
                              "on_success": _row(on_success), "on_failure": _row(on_failure),
                              "on_complete": _row(on_complete)}))
    backend = await app.storage()
    chunks = _chunks(calls, chunk)
    first, more = next(chunks, ([], False))
    batch_id, _ = await backend.insert_batch(spec, first, not more, app.clock.now())
    try:
        while more:
            rows, more = next(chunks)
            await backend.insert_batch(batch_id, rows, not more, app.clock.now())
    except BaseException:
        await cancel_batch(app, batch_id, actor="conveyor:failed-build")
        raise
    return await get_batch(app, batch_id)


async def add_to_batch(app: Conveyor, batch_id: int, calls: Iterable[Signature]) -> int:
    """Add jobs to an open batch (e.g. from one of its own jobs); returns how many."""
    backend = await app.storage()
    added = 0
    for rows, _ in _chunks(calls, CHUNK):
        await backend.insert_batch(batch_id, rows, False, app.clock.now())
        added += len(rows)
    return added


async def get_batch(app: Conveyor, batch_id: int) -> batches.Batch:
    found = await (await app.storage()).get_batch(batch_id)
    if found is None:
        raise errors.BatchNotFound(f"no batch with id {batch_id}")
    return found


async def cancel_batch(app: Conveyor, batch_id: int, *, actor: str = "api") -> int:
    """Cancel the batch: waiting jobs at once, running ones by request; returns how many
    jobs the cancel reached."""
    if not await (await app.storage()).cancel_batch(batch_id, app.clock.now()):
        raise errors.BatchNotFound(f"no batch with id {batch_id}")
    result = await app.admin.aapply(changes.CancelJobs(), base.JobFilter(batch_ids=[batch_id]),
                                    actor=actor)
    return result.count


async def retry_batch(app: Conveyor, batch_id: int, *, actor: str = "api") -> int:
    """Run the batch's failed and cancelled jobs again, with fresh attempts."""
    await get_batch(app, batch_id)
    where = base.JobFilter(batch_ids=[batch_id],
                           states=[model.JobState.DISCARDED, model.JobState.CANCELLED])
    return (await app.admin.aapply(changes.RetryJobs(), where, actor=actor)).count


async def chain(app: Conveyor, calls: Iterable[Signature]) -> list[model.Job]:
    """Enqueue `calls` so each runs after the one before it completed (one transaction).
    If one fails for good, the rest are cancelled."""
    rows = []
    for index, call in enumerate(calls):
        row = call.new_job()
        if index:
            row = _after_row(row, index - 1)
        rows.append(row)
    if not rows:
        raise errors.InvalidArguments("chain() needs at least one job")
    return await app.insert(rows)


async def results_of(app: Conveyor, job: model.Job | context.JobContext) -> dict[int, Any]:
    """The results of the jobs `job` waited for, by id (for the job that runs next)."""
    if isinstance(job, context.JobContext):
        job = job.job
    backend = await app.storage()
    found = {}
    for dep in job.depends_on:
        got = await backend.get(dep)
        found[dep] = None if got is None else got.result
    return found


def _after_row(row: model.NewJob, index: int) -> model.NewJob:
    return dataclasses.replace(row, depends_on_rows=(*row.depends_on_rows, index))


def _row(call: Signature | None) -> model.NewJob | None:
    return None if call is None else call.new_job()


def _chunks(calls: Iterable[Signature], size: int) -> Iterator[tuple[list[model.NewJob], bool]]:
    """Rows in chunks of `size`, each with whether more follow (one call of look-ahead)."""
    source = iter(calls)
    chunk = [call.new_job() for call in itertools.islice(source, size)]
    while chunk:
        following = [call.new_job() for call in itertools.islice(source, size)]
        yield chunk, bool(following)
        chunk = following
