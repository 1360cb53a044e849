"""`conveyor commerce shops|sync ...` through the real `conveyor` command: a shop added with
its key from stdin (never echoed, listed or logged), syncs asked for, status and log read,
and bad input refused with one clear line."""

from __future__ import annotations

import orjson
from click.testing import CliRunner, Result

from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor_commerce import Commerce
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.commerce.catalog.conftest import KEY, settle


def run(kit: Commerce, *args: str, stdin: str | None = None) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=kit.app)
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["commerce", *args], obj=obj,
                                                    input=stdin)


def test_shops_and_syncs_from_the_command_line(catalog_kit: Commerce,
                                               shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    added = run(kit, "shops", "add", "main", "--url", shop_server.url, "--rate", "50/s",
                "--timezone", "Europe/Warsaw", "--key-stdin", stdin=KEY + "\n")
    assert added.exit_code == 0, added.output
    assert "shop 1 (main) added" in added.output
    listed = orjson.loads(run(kit, "shops", "list", "--json").output)
    assert listed[0]["name"] == "main" and listed[0]["rate_limit"] == "50/s"
    top = kit.catalog.add_category("Kitchen")
    kit.catalog.add_products({"reference": f"K-{n}", "name": f"Kettle {n}", "price": "30",
                              "category": top.id, "priority": 2 if n else 9}
                             for n in range(3))
    asked = run(kit, "sync", "product", "K-0", "K-1", "--shop", "main")
    assert asked.exit_code == 0, asked.output
    assert "K-0: job" in asked.output and "K-1: job" in asked.output
    whole = run(kit, "sync", "all", "--shop", "main")
    assert whole.exit_code == 0 and "3 products" in whole.output
    settle(kit)
    status = orjson.loads(run(kit, "sync", "status", "--shop", "main", "--json").output)
    assert status["counts"]["product"]["synced"] == 3
    assert status["counts"]["category"]["synced"] == 1 and status["rows"] == []
    table = run(kit, "sync", "status", "--shop", "1")
    assert table.exit_code == 0 and "synced" in table.output
    log = orjson.loads(run(kit, "sync", "log", "--shop", "main", "--json").output)
    assert {e["operation"] for e in log} >= {"create", "unchanged", "bulk"}
    assert run(kit, "sync", "log").exit_code == 0
    outputs = added.output + asked.output + table.output + run(kit, "shops", "list").output
    assert KEY not in outputs + str(log) + str(status)


def test_the_sandbox_shop_command_is_there() -> None:
    shown = CliRunner().invoke(cli, ["commerce", "sandbox", "prestashop", "--help"])
    assert shown.exit_code == 0 and "--latency" in shown.output
    listed = CliRunner().invoke(cli, ["commerce", "--help"])
    assert "shops" in listed.output and "sync" in listed.output


def test_bad_input_is_one_clear_line(catalog_kit: Commerce,
                                     shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    short = run(kit, "shops", "add", "main", "--url", shop_server.url, "--key-stdin",
                stdin="too-short\n")
    assert short.exit_code == 1 and "32 letters and digits" in short.output
    bad_zone = run(kit, "shops", "add", "main", "--url", shop_server.url, "--timezone",
                   "Mars/Olympus", "--key-stdin", stdin=KEY + "\n")
    assert bad_zone.exit_code == 1 and "not an IANA time zone" in bad_zone.output
    assert KEY not in bad_zone.output
    assert orjson.loads(run(kit, "shops", "list", "--json").output) == []  # nothing stored
    unknown = run(kit, "sync", "all", "--shop", "nowhere")
    assert unknown.exit_code == 1 and "no PrestaShop shop 'nowhere'" in unknown.output
    run(kit, "shops", "add", "main", "--url", shop_server.url, "--key-stdin", stdin=KEY)
    missing = run(kit, "sync", "product", "NOPE-1", "--shop", "main")
    assert missing.exit_code == 1 and "no product 'NOPE-1'" in missing.output
    empty = run(kit, "sync", "all", "--shop", "main")
    assert empty.exit_code == 0 and "no active product" in empty.output
