"""Job bodies that misbehave in every way a job can: raise what cannot be printed, raise
`BaseException` subclasses, return what cannot be stored. Shared by the contract tests (thread
and async jobs) and the worker tests (process isolation, whose child imports this module)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any


class StrRaises(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


class StrAndReprRaise(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ is broken")


class Custom(BaseException):
    """Not an Exception: a bare BaseException subclass."""


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("__repr__ is broken")


def _generator() -> Iterator[int]:
    yield 1


RAISES: dict[str, Callable[[], BaseException]] = {
    # action: what the job raises (the error type stored is its class name)
    "str_raises": StrRaises,
    "str_and_repr_raise": StrAndReprRaise,
    "keyboard_interrupt": KeyboardInterrupt,
    "system_exit": lambda: SystemExit(3),
    "generator_exit": GeneratorExit,
    "custom_base_exception": lambda: Custom("custom"),
    "cancelled_error": asyncio.CancelledError,
    "nul_and_surrogate_message": lambda: ValueError("bad\x00byte and a lone \ud800 surrogate"),
}

RETURNS: dict[str, Any] = {
    "object": object(),
    "nul_string": "a\x00b",
    "nul_key": {"a\x00": 1},
    "repr_raises": ReprRaises(),
    "nan": float("nan"),
    "generator": _generator(),
    "surrogate": "lone \ud800",
}


def misbehave(action: str) -> Any:
    """Raise or return what `action` names."""
    if action in RAISES:
        raise RAISES[action]()
    return RETURNS[action]
