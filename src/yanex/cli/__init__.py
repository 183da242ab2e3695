"""The ``yanex`` command: a thin shell over the library.

Each command parses its options, calls the library and renders the result.
Errors of the :class:`~yanex.errors.YanexError` family and click's usage
errors become one ``Error: ...`` line on stderr and an exit code (2 for
usage errors); tracebacks appear only with ``yanex --verbose``. Commands are
imported only when invoked, so ``yanex run`` pays for nothing else.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from yanex.errors import YanexError

_COMMANDS = {
    "run": "yanex.cli.run:run",
    "rerun": "yanex.cli.run:rerun",
    "list": "yanex.cli.listing:list_command",
    "compare": "yanex.cli.listing:compare_command",
    "show": "yanex.cli.show:show_command",
    "get": "yanex.cli.show:get_command",
    "logs": "yanex.cli.show:logs_command",
    "delete": "yanex.cli.manage:delete_command",
    "archive": "yanex.cli.manage:archive_command",
    "unarchive": "yanex.cli.manage:unarchive_command",
    "update": "yanex.cli.manage:update_command",
    "cancel": "yanex.cli.manage:cancel_command",
    "ui": "yanex.cli.ui:ui_command",
}

_verbose = False


class _LazyGroup(click.Group):
    """A group whose commands are imported when first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        import importlib

        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--verbose", "-v", is_flag=True, help="Show debug logs and tracebacks.")
@click.version_option(package_name="yanex", message="yanex %(version)s")
def app(verbose: bool) -> None:
    """yanex: run Python experiments so that every run is recorded.

    The store is $YANEX_EXPERIMENTS_DIR, or ~/.yanex/experiments.
    """
    global _verbose
    _verbose = verbose
    if verbose:
        import logging

        logging.basicConfig(
            level=logging.DEBUG,
            format="yanex: %(name)s: %(message)s",
            stream=sys.stderr,
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``yanex`` console script; never returns.

    It ends the process with ``os._exit`` once its output is flushed: by then
    every record is written and closed, and the interpreter's orderly
    teardown of the modules click loads would cost about as much as the rest
    of a short ``yanex`` command. Call :func:`run_command` to stay alive.
    """
    code = run_command(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


def run_command(argv: list[str] | None = None) -> int:
    """Run one ``yanex`` command line and return its exit code."""
    try:
        result: Any = app.main(args=argv, prog_name="yanex", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as error:
        return _report_usage_error(error)
    except click.Abort:
        _error("aborted")
        return 1
    except YanexError as error:
        if _verbose:
            import traceback

            traceback.print_exc()
        _error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    _flush_stdout()
    return int(result) if isinstance(result, int) else 0


def _report_usage_error(error: click.UsageError) -> int:
    message = error.format_message().rstrip(".")
    command = error.ctx.command_path if error.ctx is not None else "yanex"
    _error(f"{message} (see '{command} --help')")
    return 2


def _error(message: str) -> None:
    from yanex.cli.table import clean

    first_line = " ".join(message.split("\n")).strip()
    click.echo(f"Error: {clean(first_line)}", err=True)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """After the reader of stdout went away (``| head``), end without noise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
