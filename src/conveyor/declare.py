"""`@app.job(...)`: every option of a job type checked when it is declared.

A job declaration runs at import, so a mistake here stops the producer or the worker from
starting at all, instead of surfacing later as a job that cannot be stored or run. The name a
job is stored under is decided here too: workers find a job by that name alone.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from conveyor import arguments, backoff, errors, limits, options, registry, unique

if TYPE_CHECKING:
    from conveyor.app import Conveyor

P = ParamSpec("P")
R = TypeVar("R")


def job_type(app: Conveyor, func: Callable[P, R], config: dict[str, Any],
             ) -> registry.JobType[P, R]:
    """The job type `@app.job(**config)` makes of `func`; raises `ConfigurationError`."""
    config = dict(config)
    name = job_name(func, config.pop("name", None))
    signature = _signature(name, func)
    on_discard = config.pop("on_discard", None)
    if on_discard is not None and not callable(on_discard):
        raise errors.ConfigurationError(
            f"job {name!r}: on_discard must be a function (job, exception), got {on_discard!r:.60}")
    unique_policy = _unique_policy(name, config)
    declared = limits.declare(name, config)
    for label, key_function in _argument_functions(unique_policy, declared):
        arguments.check_accepts(name, label, key_function, signature)
    isolation = config.pop("isolation", "thread")
    if isolation not in ("thread", "process"):
        raise errors.ConfigurationError(
            f'job {name!r}: isolation={isolation!r} is invalid; use "thread" or "process"')
    if isolation == "process" and getattr(func, "__module__", None) == "__main__":
        raise errors.ConfigurationError(
            f'job {name!r}: isolation="process" needs the function in an importable module: '
            "each child process imports it by name, and a script cannot be imported without "
            "running it again; move the job into a module and import it from the script")
    try:
        policy = backoff.resolve(config.pop("backoff", None))
    except (TypeError, ValueError) as exc:
        raise errors.ConfigurationError(f"job {name!r}: backoff is invalid: {exc}") from None
    defaults = options.build(name, **config)
    is_async = inspect.iscoroutinefunction(func)
    if defaults.timeout is not None and not is_async and isolation == "thread":
        warnings.warn(
            f"job {name!r}: timeout={defaults.timeout:g}s is not enforced for a plain def "
            "job (a thread cannot be stopped); use isolation=\"process\" or async def "
            "to have it stopped at the deadline", stacklevel=4)
    return registry.JobType(
        app=app, name=name, func=func, defaults=defaults, backoff=policy,
        on_discard=on_discard, unique=unique_policy, limits=declared, isolation=isolation,
        is_async=is_async, signature=signature)


def job_name(func: Callable[..., Any], name: Any) -> str:
    """`name=` if given, else `module.qualified_name` - which a worker importing the module
    registers too. A function of the script being run lives in `__main__`, a module no worker
    imports under that name: such a job could be enqueued but never run, so it needs `name=`."""
    if not callable(func):
        raise errors.ConfigurationError(f"@app.job needs a function, got {func!r:.60}")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or name != name.strip() \
                or not name.isprintable():
            raise errors.ConfigurationError(
                f"job name {name!r} is invalid; a name is a non-empty printable string "
                "without leading or trailing spaces")
        return name
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname:
        raise errors.ConfigurationError(
            f"job {func!r:.60} has no module and qualified name to be stored by; "
            "give it a name: @app.job(name=...)")
    if module == "__main__":
        raise errors.ConfigurationError(
            f"job {qualname!r} is defined in the script being run (module __main__): workers "
            f"import your code as a module and would never find '__main__.{qualname}'. "
            "Move the job to a module (and start workers with --app module:app), or give it "
            f"a name: @app.job(name={qualname!r})")
    return f"{module}.{qualname}"


def _signature(name: str, func: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise errors.ConfigurationError(
            f"job {name!r}: the signature of {func!r:.60} cannot be read: {exc}") from None


def _argument_functions(policy: registry.UniquePolicy | None,
                        job_limits: limits.JobLimits | None,
                        ) -> list[tuple[str, arguments.ArgumentFunction]]:
    found = [] if job_limits is None else job_limits.functions()
    if policy is not None and policy.key_function is not None:
        found.append(("unique_key", policy.key_function))
    return found


def _unique_policy(name: str, config: dict[str, Any]) -> registry.UniquePolicy | None:
    """Pop the unique_* options: `unique=True`, `unique_for=seconds`, `unique_key=callable`,
    `unique_states=[...]`; any of them makes the job type unique."""
    flag = config.pop("unique", False)
    period = config.pop("unique_for", None)
    key_function = config.pop("unique_key", None)
    states = config.pop("unique_states", None)
    if not (flag or period is not None or key_function is not None or states is not None):
        return None
    if period is not None and not options.is_seconds(period, positive=True):
        raise errors.ConfigurationError(
            f"job {name!r}: unique_for={period!r:.60} is invalid; it is a number of seconds "
            f"> 0, at most {options.MAX_SECONDS}")
    if key_function is not None and not callable(key_function):
        raise errors.ConfigurationError(f"job {name!r}: unique_key must be a callable")
    try:
        mask = unique.states_mask(states if states is not None else unique.DEFAULT_STATES)
    except (TypeError, ValueError) as exc:
        raise errors.ConfigurationError(f"job {name!r}: unique_states: {exc}") from None
    if not mask:
        raise errors.ConfigurationError(f"job {name!r}: unique_states must not be empty")
    return registry.UniquePolicy(key_function, None if period is None else float(period), mask)
