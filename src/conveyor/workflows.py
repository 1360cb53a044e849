"""Jobs that belong together: batches built from a stream, chains, dependency results.

The app's `batch`, `chain`, `get_batch`, ... are thin wrappers over these functions.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from conveyor import batches, changes, context, errors, model, registry
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
    if not isinstance(name, str):
        raise errors.InvalidArguments(f"batch name={name!r:.60} is invalid; it is a string")
    spec = base.BatchSpec(name=name, allow_failures=bool(allow_failures),
                          callbacks_json=batches.encode_callbacks({
                              when: None if call is None else _row_of(call, when)
                              for when, call in (("on_success", on_success),
                                                 ("on_failure", on_failure),
                                                 ("on_complete", on_complete))}))
    backend = await app.storage()
    chunks = _chunks(calls, chunk)
    first, more = next(chunks, ([], False))
    batch_id = await _insert_chunk(app, backend, spec, first, not more)
    try:
        while more:
            rows, more = next(chunks)
            await _insert_chunk(app, backend, batch_id, rows, not more)
    except BaseException:
        await cancel_batch(app, batch_id, actor="conveyor:failed-build")
        raise
    return await get_batch(app, batch_id)


async def add_to_batch(app: Conveyor, batch_id: int, calls: Iterable[Signature]) -> int:
    """Add jobs to an open batch (e.g. from one of its own jobs); returns how many."""
    check_batch_id(batch_id)
    backend = await app.storage()
    added = 0
    for rows, _ in _chunks(calls, CHUNK):
        await _insert_chunk(app, backend, batch_id, rows, False)
        added += len(rows)
    return added


async def _insert_chunk(app: Conveyor, backend: base.Backend, batch: int | base.BatchSpec,
                        rows: list[model.NewJob], seal: bool) -> int:
    """One chunk of a batch, inside the app's enqueue hooks; returns the batch id."""
    with app.hooks.enqueuing(rows) as call:
        batch_id, inserted = await backend.insert_batch(batch, call.rows, seal, app.clock.now(),
                                                         app.settings.max_errors)
        call.ids = [done.id for done in inserted]
    return batch_id


async def get_batch(app: Conveyor, batch_id: int) -> batches.Batch:
    check_batch_id(batch_id)
    found = await (await app.storage()).get_batch(batch_id)
    if found is None:
        raise errors.BatchNotFound(f"no batch with id {batch_id}")
    return found


async def cancel_batch(app: Conveyor, batch_id: int, *, actor: str = "api") -> int:
    """Cancel the batch: waiting jobs at once, running ones by request; returns how many
    jobs the cancel reached."""
    check_batch_id(batch_id)
    if not await (await app.storage()).cancel_batch(batch_id, app.clock.now(),
                                                    app.settings.max_errors):
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
    for index, call in enumerate(_iterate(calls, "chain()")):
        row = _row_of(call, "chain()")
        if index:
            row = _after_row(row, index - 1)
        rows.append(row)
    if not rows:
        raise errors.InvalidArguments("chain() needs at least one job")
    return list(await app.insert(rows))


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


def check_batch_id(batch_id: Any) -> None:
    """An id no batch can have is reported as such, not as a database overflow."""
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) \
            or not 1 <= batch_id < 2**63:
        raise errors.BatchNotFound(f"no batch with id {batch_id!r:.40}: ids are integers >= 1")


def _iterate(calls: Any, where: str) -> Iterator[Any]:
    try:
        return iter(calls)
    except TypeError:
        raise errors.InvalidArguments(
            f"{where} takes job calls made with job.s(...), got {calls!r:.60}") from None


def _row_of(call: Any, where: str) -> model.NewJob:
    """The row of a call made with `job.s(...)`; a job itself or anything else is refused."""
    if isinstance(call, registry.Signature):
        return call.new_job()
    if isinstance(call, registry.JobType):
        raise errors.InvalidArguments(
            f"{where}: got the job {call.name!r} itself; pass a call, job.s(...) with its "
            "arguments")
    raise errors.InvalidArguments(f"{where} takes job calls made with job.s(...), got "
                                  f"{call!r:.60}")


def _chunks(calls: Iterable[Signature], size: int) -> Iterator[tuple[list[model.NewJob], bool]]:
    """Rows in chunks of `size`, each with whether more follow (one call of look-ahead)."""
    source = _iterate(calls, "a batch")
    chunk = [_row_of(call, "a batch") for call in itertools.islice(source, size)]
    while chunk:
        following = [_row_of(call, "a batch") for call in itertools.islice(source, size)]
        yield chunk, bool(following)
        chunk = following
