"""The one family of errors yanex reports to its users.

Every failure a user can cause or fix is a :class:`YanexError`. The command
line turns it into a single ``Error: ...`` line and its ``exit_code``; library
callers receive the exception itself. Anything else escaping is a bug.

::

    YanexError                      exit 1
    ├── UsageError                  exit 2: the request itself is wrong
    │   ├── ParamError              a --param, YANEX_PARAM_* or config value
    │   ├── SweepError              a malformed sweep expression
    │   ├── ConfigError             an unreadable or invalid config file
    │   ├── ScriptError             a missing or unreadable script
    │   ├── FilterError             a malformed filter (--where, a date)
    │   └── ExperimentNotFoundError an unknown or ambiguous experiment id
    ├── DirtyTreeError              uncommitted changes block a run
    ├── GitError                    git itself failed
    ├── StoreError                  the store cannot be read or written
    │   └── DamagedRecordError      one record is unreadable
    ├── MetricError                 a metric value that cannot be stored
    ├── ArtifactError               an artifact that cannot be saved or loaded
    └── SlurmError                  Slurm is missing or refused a request

This module is imported by scripts through ``import yanex``; it must stay free
of imports.
"""

from __future__ import annotations


class YanexError(Exception):
    """A failure that yanex explains to the user in one line."""

    exit_code = 1


class UsageError(YanexError):
    """The request is malformed: fixing the command line fixes it."""

    exit_code = 2


class ParamError(UsageError):
    """A parameter assignment or value cannot be understood."""


class SweepError(ParamError):
    """A sweep expression is malformed."""


class ConfigError(UsageError):
    """A configuration file is missing, unreadable or not a mapping."""


class ScriptError(UsageError):
    """The script to run does not exist or cannot be read."""


class FilterError(UsageError):
    """A filter such as ``--where`` or a date cannot be understood."""


class ExperimentNotFoundError(UsageError):
    """No single experiment matches what the user named."""


class DirtyTreeError(YanexError):
    """The git working tree has uncommitted changes to tracked files."""


class GitError(YanexError):
    """Git reported a failure while recording the code state."""


class StoreError(YanexError):
    """The experiment store cannot be read or written."""


class DamagedRecordError(StoreError):
    """One record in the store is unreadable; the rest may be fine."""


class MetricError(YanexError, TypeError):
    """A logged metric value cannot be stored."""


class ArtifactError(YanexError):
    """An artifact cannot be saved, copied or loaded."""


class SlurmError(YanexError):
    """Slurm's commands are missing, or Slurm refused what yanex asked."""
