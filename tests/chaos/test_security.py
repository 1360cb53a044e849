"""Security checks: no pickle, parameterised SQL under hostile filters, secrets never shown."""

from __future__ import annotations

import ast
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from conveyor import Conveyor, JobState
from conveyor.cli import context
from conveyor.cli.main import cli
from tests.conftest import raw

SRC = Path(__file__).resolve().parents[2] / "src" / "conveyor"
UNSAFE_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle"}
SENTINEL = "sk-live-SENTINEL-7f3a9c"


def test_no_pickle_marshal_or_eval_anywhere_in_the_package() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names
                          if a.name.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module \
                    and node.module.split(".")[0] in UNSAFE_MODULES:
                found.append((path.name, node.module))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("eval", "exec"):
                found.append((path.name, node.func.id))
    assert len(list(SRC.rglob("*.py"))) > 40
    assert found == []


def run(app: Conveyor, *args: str) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args), obj=obj,
                                                  catch_exceptions=False)


HOSTILE = ["x'; DROP TABLE conveyor_jobs; --", "%", "_", "' OR '1'='1", "\\", "\"; --",
           "name) OR (1=1", "%' OR 1=1 --"]


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    @app.job(name="send_message", max_attempts=1)
    def send_message(phone: str, text: str, api_token: str = "") -> None: ...

    send_message.enqueue("+48600000001", "hello", api_token=SENTINEL)
    send_message.enqueue("%", "_", api_token=SENTINEL)
    return app


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_data_not_sql(url: str, shop: Conveyor, value: str) -> None:
    listed = run(shop, "jobs", "list", "--name", value, "--queue", value, "--json")
    assert listed.exit_code == 0 and orjson.loads(listed.output) == []
    contains = orjson.dumps([value]).decode()
    cancel = run(shop, "cancel", "--args-contains", contains, "--dry-run")
    if value in ("%", "_"):  # the second job's arguments *are* "%" and "_": a real match
        assert (cancel.exit_code, cancel.output.strip()) == (0, "would cancel 1 job")
    else:
        assert cancel.exit_code == 0 and "nothing to do: no matching job" in cancel.output, \
            cancel.output
    deleted = run(shop, "delete", "--name", value)
    assert deleted.exit_code == 0 and "nothing to do: no matching job" in deleted.output, \
        deleted.output
    assert raw(url, "SELECT count(*) FROM conveyor_jobs") == [(2,)]
    assert {j.state for j in shop.jobs()} == {JobState.AVAILABLE}


def test_a_sentinel_secret_appears_in_no_listing(shop: Conveyor) -> None:
    outputs = [run(shop, "jobs", "list").output, run(shop, "jobs", "list", "--json").output,
               run(shop, "jobs", "show", "1").output,
               run(shop, "jobs", "show", "1", "--json").output]
    shop.drain()
    outputs += [run(shop, "failed", "--json").output, run(shop, "jobs", "list", "--json").output]
    assert all(output.strip() for output in outputs)
    assert not [output for output in outputs if SENTINEL in output]
    assert "***" in run(shop, "jobs", "show", "1", "--json").output
