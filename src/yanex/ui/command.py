"""``yanex ui``: serve the web page over the store until Ctrl-C."""

from __future__ import annotations

import click

from yanex.errors import YanexError
from yanex.store import Store

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("ui", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback exposes the store.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
def ui(host: str, port: int, no_browser: bool) -> int:
    """Browse experiments in a local web page: lists, charts, comparisons.

    \b
    Examples:
      yanex ui
      yanex ui --port 8765 --no-browser
    """
    try:
        from yanex.ui import server
    except ImportError as error:
        raise YanexError(
            f"yanex ui needs its extra ({error.name} is missing):"
            " pip install 'yanex[ui]'"
        ) from None
    if host not in _LOOPBACK:
        click.echo(
            f"Warning: listening on {host}: the experiment store becomes visible"
            " to the network.",
            err=True,
        )
    try:
        server.serve(
            Store(),
            host=host,
            port=port,
            open_browser=not no_browser,
            on_ready=lambda url: click.echo(f"yanex ui: serving {url} (Ctrl-C stops)"),
        )
    except OSError as error:
        raise YanexError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    except KeyboardInterrupt:
        pass
    click.echo("yanex ui: stopped", err=True)
    return 0
