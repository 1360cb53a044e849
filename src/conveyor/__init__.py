"""Conveyor: background jobs for Python on SQLite and PostgreSQL.

The public API is what this module exports, plus the optional modules imported on their own
and documented as such (`conveyor.contrib.*`, `conveyor.testing`, `conveyor.web`, and the
observer hook points `conveyor.hooks` and `conveyor.joblog`); everything else is internal.
"""

from importlib import metadata as _metadata

from conveyor.app import Conveyor
from conveyor.batches import Batch, Progress
from conveyor.clock import Clock, FrozenClock, SystemClock
from conveyor.context import JobContext, current_job
from conveyor.control import Cancel, Discard, RateLimited, Retry, Snooze
from conveyor.enqueued import Enqueued
from conveyor.errors import (
    BatchClosed,
    BatchNotFound,
    ConfigurationError,
    ConveyorError,
    DependencyNotFound,
    InvalidArguments,
    InvalidSchedule,
    InvalidUrl,
    JobNotFound,
    MalformedJob,
    NotMigrated,
    PayloadTooLarge,
    StorageUnavailable,
    UnknownJob,
    Unserializable,
    Unstorable,
)
from conveyor.filters import JobFilter
from conveyor.limits import Concurrency, Rate
from conveyor.model import Job, JobError, JobState
from conveyor.registry import JobType, Signature
from conveyor.settings import Settings

try:
    __version__ = _metadata.version("conveyor")
    """The installed distribution's version (PEP 440), from the package metadata."""
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Batch", "BatchClosed", "BatchNotFound", "Cancel", "Clock", "Concurrency",
    "ConfigurationError", "Conveyor", "ConveyorError", "DependencyNotFound", "Discard",
    "Enqueued",
    "FrozenClock",
    "InvalidArguments", "InvalidSchedule", "InvalidUrl", "Job", "JobContext", "JobError",
    "JobFilter", "JobNotFound", "JobState", "JobType", "MalformedJob", "NotMigrated",
    "PayloadTooLarge", "Progress", "Rate", "RateLimited", "Retry", "Settings", "Signature",
    "Snooze", "StorageUnavailable", "SystemClock", "UnknownJob", "Unserializable", "Unstorable",
    "__version__", "current_job",
]
