"""How the command line talks: data on stdout, messages on stderr.

Messages start with ``yanex:`` so they stand apart from a script's own
output, which shares the terminal.
"""

from __future__ import annotations

import sys

import click

from yanex.cli import table


def note(message: str) -> None:
    """Tell the user something worth knowing, on stderr.

    Messages quote user text (names, paths, reasons); its control
    characters are shown escaped, never obeyed by the terminal.
    """
    click.echo(f"yanex: {table.clean(message)}", err=True)


def warn(message: str) -> None:
    """Warn the user, on stderr."""
    click.echo(f"yanex: warning: {table.clean(message)}", err=True)


def is_terminal(stream: object = None) -> bool:
    """Whether ``stream`` (default stderr) is an interactive terminal."""
    target = sys.stderr if stream is None else stream
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def format_duration(seconds: float | None) -> str:
    """A short human duration: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
