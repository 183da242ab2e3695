"""``yanex ui``: serve the web page over the store until Ctrl-C.

The web framework is the optional ``ui`` extra; it is imported only here,
when the command runs, and its absence is one clear line.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable

import click

from yanex.cli import output
from yanex.errors import YanexError
from yanex.store import Store

#: Tried first when no ``--port`` is given; if taken, any free port is used.
DEFAULT_PORT = 8765


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
    default=None,
    help=f"Port to listen on (0: any free one)  [default: {DEFAULT_PORT}, "
    "or any free one if taken]",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
def ui_command(host: str, port: int | None, no_browser: bool) -> int:
    """Browse, plot and compare experiments in a local web page.

    \b
    Examples:
      yanex ui
      yanex ui --port 8765 --no-browser
    """
    _require_extra()
    from yanex.ui import guard, server

    listener = _listen(host, port)
    try:
        if not guard.is_loopback(host):
            output.warn(
                f"listening on {host}: the experiment store is visible to the network"
            )
        url = server.url_of(listener)
        opener = None if no_browser else _browser_opener(url)

        def started() -> None:
            click.echo(f"yanex ui: serving {url} (Ctrl-C stops)")
            if opener is not None:
                opener()

        server.serve(Store(), listener, on_started=started)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    output.note("stopped")
    return 0


def _require_extra() -> None:
    """Check that the web framework is installed, or say how to get it."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise YanexError(
            f"yanex ui needs the ui extra ({error.name} is not installed):"
            " pip install 'yanex[ui]'"
        ) from None


def _listen(host: str, port: int | None) -> socket.socket:
    """A listening socket; the default port gives way to any free one."""
    from yanex.ui.server import bind

    try:
        try:
            return bind(host, DEFAULT_PORT if port is None else port)
        except OSError as error:
            if port is not None or error.errno != errno.EADDRINUSE:
                raise
            return bind(host, 0)
    except OSError as error:
        shown = DEFAULT_PORT if port is None else port
        reason = error.strerror or str(error)
        raise YanexError(f"cannot listen on {host}:{shown}: {reason}") from None


def _browser_opener(url: str) -> Callable[[], None] | None:
    """What opens the page once the server answers, if a browser can."""
    if sys.platform.startswith("linux") and not _has_display():
        output.note(f"no display to open a browser on; open {url} yourself")
        return None

    def open_page() -> None:
        import webbrowser

        if not webbrowser.open(url):
            output.note(f"could not open a browser; open {url} yourself")

    return open_page


def _has_display() -> bool:
    """Whether a graphical browser could start (or $BROWSER names one)."""
    names = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    return any(os.environ.get(name) for name in names)
