"""Debug logging that costs nothing until a message is logged.

The library logs through :mod:`logging` under its module names, at DEBUG;
``yanex --verbose`` shows those messages. Importing :mod:`logging` takes
milliseconds that every ``yanex run`` would pay, so modules on that path
hold a :class:`Logger` that defers to :mod:`logging` only once something
has imported it. Until then no handler can exist, so a DEBUG message would be
discarded anyway.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from logging import Logger as StandardLogger
    from typing import Any


class Logger:
    """Stands in for ``logging.getLogger(name)``, created on first use."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: StandardLogger | None = None

    def debug(self, message: str, *args: Any) -> None:
        """Log ``message % args`` at DEBUG."""
        if self._logger is None:
            logging = sys.modules.get("logging")
            if logging is None:
                return
            self._logger = logging.getLogger(self.name)
        self._logger.debug(message, *args)


def get_logger(name: str) -> Logger:
    """The lazy logger of module ``name``."""
    return Logger(name)
