"""A sentinel token: encrypted at rest, and in no job argument, listing, log line, error or
CLI output - also when sending fails because of it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor import Conveyor, FrozenClock, JobFilter
from conveyor.backends.sqlite.backend import path_of
from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor_commerce import Commerce, SecretKeyError
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.vault import Secret, Vault, generate_key
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import NUMBER, SENTINEL, TEST_SETTINGS, _truncate_commerce, drain
from tests.conftest import FAST, raw

KEY = generate_key()


@pytest.fixture
def sealed(url: str, clock: FrozenClock) -> Iterator[Commerce]:
    _truncate_commerce(url)
    app = Conveyor(url, clock=clock, settings=FAST)
    commerce = Commerce(app, settings=TEST_SETTINGS, vault=Vault(KEY))
    yield commerce
    commerce.close()
    app.close()


@pytest.fixture
def secret_account(sealed: Commerce, sandbox: SandboxServer) -> Account:
    sandbox.state.set_token(NUMBER, SENTINEL)
    return sealed.accounts.add("shop", NUMBER, SENTINEL, base_url=sandbox.url, send_rate=80)


def _stored_bytes(url: str) -> bytes:
    if url.startswith("sqlite"):
        path = Path(path_of(url))
        with sqlite3.connect(path) as conn:  # fold the WAL into the file first
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    rows = raw(url, "SELECT token FROM commerce_wa_accounts")
    rows += raw(url, "SELECT args::text || kwargs::text || errors::text FROM conveyor_jobs")
    rows += raw(url, "SELECT content || coalesce(error_title, '') FROM commerce_messages")
    return repr(rows).encode()


def _cli(app: Conveyor, *args: str) -> str:
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args), obj=obj,
                                                      catch_exceptions=False)
    return result.output


def test_the_sentinel_token_never_shows(url: str, sealed: Commerce, secret_account: Account,
                                        sandbox: SandboxServer,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert secret_account.token_encrypted
    sent = sealed.messages.schedule("shop", "48600100200", "hi", offset=0)
    drain(sealed)
    assert sealed.messages.get(sent.id).status == "sent"  # the token did reach the API
    sandbox.state.expire_token(NUMBER)  # ... and now the failure path, which logs an alert
    stopped = sealed.messages.schedule("shop", "48600100201", "hi", offset=0)
    drain(sealed)
    assert sealed.accounts.get("shop").status == "stopped"
    jobs = sealed.app.jobs(JobFilter())
    outputs = [
        _cli(sealed.app, "commerce", "accounts", "list"),
        _cli(sealed.app, "commerce", "accounts", "list", "--json"),
        _cli(sealed.app, "commerce", "messages", "list", "--json"),
        _cli(sealed.app, "commerce", "messages", "show", str(stopped.id)),
        _cli(sealed.app, "jobs", "list", "--json"),
        _cli(sealed.app, "jobs", "show", str(jobs[0].id), "--json"),
    ]
    seen = "\n".join([*outputs, caplog.text, repr(jobs), repr(sealed.accounts.list()),
                      repr(sealed.messages.list())])
    assert "encrypted" in outputs[0] and "stopped" in outputs[0]
    assert SENTINEL not in seen
    assert SENTINEL.encode() not in _stored_bytes(url)


def test_a_secret_hides_itself() -> None:
    secret = Secret(SENTINEL)
    formatted = ["%s" % (secret,), "{}".format(secret)]  # noqa: UP031, UP032
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", *formatted):
        assert SENTINEL not in shown
    assert secret.reveal() == SENTINEL
    with pytest.raises(TypeError):
        __import__("copy").copy(secret)


def test_keys_seal_and_rotate() -> None:
    old, new = generate_key(), generate_key()
    stored = Vault(old).seal(Secret(SENTINEL))
    assert stored.startswith("fernet:") and SENTINEL not in stored
    assert Vault(f"{new},{old}").open(stored).reveal() == SENTINEL  # rotation: both keys
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        Vault(new).open(stored)
    with pytest.raises(SecretKeyError, match="not set"):
        Vault("").open(stored)
    with pytest.raises(SecretKeyError, match="Fernet keys"):
        Vault("not-a-key")
    assert Vault("").seal(Secret("x")) == "plain:x"
