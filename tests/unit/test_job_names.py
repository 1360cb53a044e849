"""The name a job is stored under: the one a worker that imports the app registers too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor import ConfigurationError, Conveyor


def _defined_in_main(source: str) -> Callable[..., Any]:
    """A function as a script run with `python script.py` defines it (module `__main__`)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(source, namespace)
    func: Callable[..., Any] = namespace["hello"]
    assert func.__module__ == "__main__"
    return func


def test_a_job_of_the_script_being_run_needs_a_name() -> None:
    app = Conveyor("sqlite:///unused.db")
    hello = _defined_in_main("def hello(who: str) -> None: ...")
    with pytest.raises(ConfigurationError,
                       match=r"'hello' is defined in the script.*__main__.*name='hello'"):
        app.job(hello)
    with pytest.raises(ConfigurationError, match="Move the job to a module"):
        app.job(queue="greetings")(hello)
    assert app.registry.names() == []
    assert app.job(name="hello")(hello).name == "hello"


def test_a_job_of_a_module_is_named_after_it() -> None:
    app = Conveyor("sqlite:///unused.db")

    @app.job
    def hello() -> None: ...

    assert hello.name == f"{__name__}.test_a_job_of_a_module_is_named_after_it.<locals>.hello"


@pytest.mark.parametrize("name", ["", " padded", "tab\tinside", 42])
def test_bad_names_are_refused(name: Any) -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match=r"job name .* is invalid"):
        app.job(name=name)(lambda: None)


def test_what_is_not_a_function_is_refused() -> None:
    import functools

    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match="needs a function"):
        app.job(name="x")(42)  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="give it a name"):
        app.job(functools.partial(print, "hi"))
    assert app.job(name="greet")(functools.partial(print, "hi")).name == "greet"


def test_a_script_that_drains_its_own_named_jobs_runs(tmp_path: Path) -> None:
    """The real thing: `python script.py` with `app.drain()` at the end."""
    script = tmp_path / "script.py"
    body = textwrap.dedent(f"""
        from conveyor import Conveyor
        app = Conveyor("sqlite:///{tmp_path / 'jobs.db'}")

        @app.job(name="hello")
        def hello(who: str) -> str:
            return "hello " + who

        job = hello.enqueue("world")
        app.drain()
        print(app.get(job.id).state.value, app.get(job.id).result)
    """)
    script.write_text(body)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "completed hello world"), done.stderr
    script.write_text(body.replace('@app.job(name="hello")', "@app.job"))
    refused = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode == 1
    assert "ConfigurationError: job 'hello' is defined in the script being run" in refused.stderr
