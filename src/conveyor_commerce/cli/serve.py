"""`conveyor commerce sandbox whatsapp|prestashop` and `conveyor commerce webhook`: serve the
fake Cloud API, the fake PrestaShop Webservice, or the delivery-status webhook, with uvicorn
(127.0.0.1 by default)."""

from __future__ import annotations

import click

from conveyor_commerce.cli import common
from conveyor_commerce.sandbox.server import new_state, serve


@click.group()
def sandbox() -> None:
    """Local stand-ins for the APIs the kit speaks."""


@sandbox.command("whatsapp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8089, show_default=True, type=int)
@click.option("--number", "numbers", multiple=True, metavar="PHONE_NUMBER_ID[:THROUGHPUT]",
              help="A sending number to accept; repeatable.")
@click.option("--token", default="sandbox-token", show_default=True,
              help="The (fake) token the numbers accept.")
@click.option("--webhook-url", help="Where to send signed status callbacks.")
@click.option("--app-secret", envvar="WHATSAPP_APP_SECRET", default="sandbox-secret",
              help="Signs the callbacks (default: $WHATSAPP_APP_SECRET).")
def whatsapp(host: str, port: int, numbers: tuple[str, ...], token: str,
             webhook_url: str | None, app_secret: str) -> None:
    """A fake WhatsApp Cloud API (see /_sandbox/... to configure it while it runs)."""
    state = new_state()
    for spec in numbers or ("106540352242922",):
        number, _, throughput = spec.partition(":")
        state.add_number(number, token, throughput=int(throughput or 80))
    if webhook_url:
        state.configure_webhook(webhook_url, app_secret)
    click.echo(f"WhatsApp sandbox on http://{host}:{port} (numbers: "
               f"{', '.join(sorted(state.numbers))})")
    serve(state, host, port)


@sandbox.command("prestashop")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8091, show_default=True, type=int)
@click.option("--key-env", default="PRESTASHOP_SANDBOX_KEY", show_default=True,
              help="Environment variable holding the 32-character key to accept (default: "
                   "the sandbox's documented demo key).")
@click.option("--latency", default=0.0, show_default=True, type=float,
              help="Seconds added to every answer.")
def prestashop(host: str, port: int, key_env: str, latency: float) -> None:
    """A fake PrestaShop Webservice (see /_sandbox/... to configure it while it runs)."""
    import os

    from conveyor_commerce.sandbox.prestashop import server, state

    key = os.environ.get(key_env, state.DEFAULT_KEY)
    if len(key) != 32:
        raise click.BadParameter(f"${key_env} must hold 32 characters, as PrestaShop keys do")
    shop = state.ShopState([key])
    shop.latency = max(0.0, latency)
    click.echo(f"PrestaShop sandbox on http://{host}:{port}/api/ (key from "
               f"{'$' + key_env if key_env in os.environ else 'the demo default'})")
    server.serve(shop, host, port)


@click.command("webhook")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--app-secret", envvar="WHATSAPP_APP_SECRET", required=True,
              help="Meta app secret (default: $WHATSAPP_APP_SECRET).")
@click.option("--verify-token", envvar="WHATSAPP_VERIFY_TOKEN", required=True,
              help="The verify token given to Meta (default: $WHATSAPP_VERIFY_TOKEN).")
@click.pass_context
def webhook(ctx: click.Context, host: str, port: int, app_secret: str,
            verify_token: str) -> None:
    """Serve the delivery-status webhook."""
    import uvicorn

    with common.kit(ctx) as kit:
        asgi = kit.webhook_app(app_secret=app_secret, verify_token=verify_token)
        uvicorn.run(asgi, host=host, port=port, log_level="info")
