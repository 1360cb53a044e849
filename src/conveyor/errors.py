"""Every error Conveyor raises on purpose. Messages name the job, the field and the limit."""

from __future__ import annotations


class ConveyorError(Exception):
    """Base class of all Conveyor errors."""


class ConfigurationError(ConveyorError):
    """A job declaration, option or setting is invalid (caught at registration or start)."""


class InvalidUrl(ConfigurationError):
    """The storage URL names no supported backend or is malformed."""


class UnknownJob(ConveyorError):
    """No job with that name is registered in this application."""


class InvalidArguments(ConveyorError):
    """The arguments do not match the job function's signature."""


class Unserializable(ConveyorError):
    """A value cannot be stored as strict JSON (sets, objects, NaN, non-string keys...)."""


class Unstorable(Unserializable):
    """The database refused a value it was given (a data error, not an outage); nothing of
    that statement was written."""


class PayloadTooLarge(ConveyorError):
    """The encoded arguments or result exceed the configured limit."""


class JobNotFound(ConveyorError):
    """No job with that id exists."""


class DependencyNotFound(JobNotFound):
    """A job was enqueued to wait for a job id that does not exist."""


class BatchNotFound(ConveyorError):
    """No batch with that id exists."""


class BatchClosed(ConveyorError):
    """Jobs cannot be added to a batch that was cancelled or has finished."""


class InvalidSchedule(ConfigurationError):
    """A cron schedule's expression, time zone or policy is invalid."""


class StorageUnavailable(ConveyorError):
    """The database cannot be reached or stayed busy past the deadline; nothing was written."""


class MalformedJob(ConveyorError):
    """A stored row cannot be decoded (set by hand, or written by an incompatible version)."""


class NotMigrated(ConveyorError):
    """The database, or its Conveyor tables, do not exist yet, or are older than this version
    (and this app may not create or upgrade them): run `conveyor migrate`."""
