"""A job call's arguments bound by the job's signature, and the functions that read them.

Rate keys, concurrency keys, costs and unique keys are functions of a job's arguments. They
get the arguments *by name*, bound by the job's own signature with its defaults applied, so
`rate_key=lambda account_id, **_: ...` gives the same key for `send(1, "+48", "hi")` and for
`send(account_id=1, to="+48", text="hi")`. Whether such a function can take the job's
arguments is checked when the job is declared; what it raises for one call becomes
`InvalidArguments` naming the job and the function, and nothing is written.

Binding costs microseconds a call, so only jobs that have such functions (or are unique,
whose default key is the bound arguments) bind at all, and plain signatures take a fast path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from conveyor import errors

ArgumentFunction = Callable[..., Any]


class Call(NamedTuple):
    """One call's arguments by name, defaults applied (a tuple: built once a row)."""

    named: dict[str, Any]
    """As keywords: a `**kwargs` parameter's entries spread out (what key functions get)."""
    bound: dict[str, Any]
    """As `inspect.BoundArguments.arguments` (a unique job's default key material)."""


class Binder:
    """Binds calls to one job's signature. Calls of a plain signature (no `*args`/`**kwargs`)
    are bound by zipping names (~1 us); the others, and every call that does not fit, go
    through `inspect` (~5 us), which also words the error."""

    def __init__(self, job: str, signature: inspect.Signature) -> None:
        self.job, self.signature = job, signature
        params = list(signature.parameters.values())
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        plain = all(p.kind is not p.VAR_POSITIONAL and p.kind is not p.VAR_KEYWORD
                    for p in params)
        self._positional = tuple(p.name for p in params if p.kind in kinds)
        self._most = len(self._positional) if plain else -1
        """Most positional arguments the fast path binds (-1: never, *args or **kwargs)."""
        self._keywords = frozenset(p.name for p in params
                                   if p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        self._defaults = {p.name: p.default for p in params if p.default is not p.empty}
        self._count = len(params)

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Call:
        if len(args) <= self._most:
            named = dict(zip(self._positional, args, strict=False))
            if not kwargs or (kwargs.keys() <= self._keywords
                              and named.keys().isdisjoint(kwargs)):
                named.update(kwargs)
                if len(named) < self._count:
                    for name, default in self._defaults.items():
                        named.setdefault(name, default)
                if len(named) == self._count:
                    return Call(named, named)
        bound = bind(self.job, self.signature, args, kwargs)
        return Call(keywords(bound), dict(bound.arguments))


def bind(job: str, signature: inspect.Signature, args: Sequence[Any],
         kwargs: Mapping[str, Any]) -> inspect.BoundArguments:
    """The call bound by `signature`, defaults applied; `InvalidArguments` if it does not fit."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise errors.InvalidArguments(
            f"arguments for job {job!r} do not match {job}{signature}: {exc}") from None
    bound.apply_defaults()
    return bound


def keywords(bound: inspect.BoundArguments) -> dict[str, Any]:
    """The bound arguments as keywords; a `**kwargs` parameter's entries are spread out."""
    named = dict(bound.arguments)
    for param in bound.signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            named.update(named.pop(param.name, {}))
    return named


def check_accepts(job: str, label: str, func: ArgumentFunction,
                  signature: inspect.Signature) -> None:
    """Refuse (at declaration) a function that cannot take the job's arguments by name."""
    if not callable(func):
        raise errors.ConfigurationError(
            f"job {job!r}: {label} must be a function of the job's arguments, got {func!r:.60}")
    try:
        accepted = inspect.signature(func)
    except (TypeError, ValueError):
        return  # no introspectable signature (some builtins): checked at each call instead
    names = [p.name for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    try:
        accepted.bind(**dict.fromkeys(names))
    except TypeError as exc:
        example = f"lambda {names[0]}, **_: ..." if names else "lambda: ..."
        raise errors.ConfigurationError(
            f"job {job!r}: {label} {describe(func)} must accept the job's arguments by name "
            f"({', '.join(names) or 'none'}); take the ones it needs and **_ for the rest, "
            f"e.g. {example} ({exc})") from None


def call(job: str, label: str, func: ArgumentFunction, named: Mapping[str, Any]) -> Any:
    """`func(**named)`; whatever it raises becomes `InvalidArguments` naming job and function."""
    try:
        return func(**named)
    except Exception as exc:
        raise errors.InvalidArguments(
            f"job {job!r}: {label} {describe(func)} failed when called with "
            f"{', '.join(named) or 'no arguments'}: {type(exc).__name__}: {_text(exc)}"
        ) from exc


def describe(func: ArgumentFunction) -> str:
    """`name (file:line)` for a function, so a lambda can be found."""
    name = getattr(func, "__name__", None) or type(func).__name__
    code = getattr(func, "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code is not None else name


def _text(exc: BaseException, limit: int = 200) -> str:
    """An exception's message, clipped; one whose `__str__` raises cannot break the report."""
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {type(exc).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}..."
