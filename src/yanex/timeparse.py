"""Moments in time as people write them on the command line.

``--started-after`` and the results API take either an ISO 8601 date or time
or a phrase relative to now, and compare the answer against the UTC times the
store records::

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    >>> parse_time("2 days ago", now).isoformat()
    '2026-11-29T12:00:00+00:00'
    >>> parse_time("2026-12-01T10:30+02:00").isoformat()
    '2026-12-01T08:30:00+00:00'

Accepted, case-insensitively and with any spacing:

- ``2026-12-01``, ``2026-12-01T10:30``, ``2026-12-01 10:30:00.5``, each
  optionally ending in ``Z`` or an offset such as ``+02:00``. A time with no
  offset is the machine's local time; a bare date is its local midnight.
- ``now``; ``today`` and ``yesterday``, both at local midnight.
- ``N UNIT ago`` (``3 hours ago``, ``2d ago``, ``90min ago``) with units
  second, minute, hour, day and week, in full, plural or short (``s``,
  ``m``/``min``, ``h``, ``d``, ``w``).
- ``last UNIT`` (``last week``), which is ``1 UNIT ago``.

Months and years are not accepted: their length varies, so "1 month ago"
would be a guess. Write a date instead.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from yanex.errors import FilterError

_UNITS = {
    "seconds": ("s", "sec", "secs", "second", "seconds"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "week", "weeks"),
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}
_UNIT_WORDS = "|".join(sorted(_UNIT_OF, key=len, reverse=True))

_AGO = re.compile(rf"(?P<count>[0-9]+) ?(?P<unit>{_UNIT_WORDS}) ago")
_LAST = re.compile(rf"last (?P<unit>{_UNIT_WORDS})")
_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[t ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r" ?(?:z|[+-][0-9]{2}:?[0-9]{2})?)?"
)

_SPACE_BEFORE_ZONE = re.compile(r" (?=[z+-])")


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names, as an aware datetime in UTC.

    ``now`` anchors relative phrases (default: the current time); a naive
    ``now`` is taken as local time.
    """
    words = " ".join(text.lower().split())
    current = datetime.now(UTC) if now is None else now.astimezone(UTC)
    try:
        moment = _read(words, current)
    except (OverflowError, ValueError):
        raise FilterError(
            f"{text!r} falls outside the years 1 to 9999 that a time can name"
        ) from None
    if moment is None:
        raise FilterError(
            f"cannot read {text!r} as a time;"
            " use an ISO date like 2026-12-01 or a phrase like '2 days ago'"
        )
    return moment


def _read(words: str, now: datetime) -> datetime | None:
    """Read normalised text; None when it is no form this module knows."""
    if words == "now":
        return now
    if words == "today":
        return _local_midnight(now.astimezone().date())
    if words == "yesterday":
        return _local_midnight(now.astimezone().date() - timedelta(days=1))
    relative = _AGO.fullmatch(words) or _LAST.fullmatch(words)
    if relative is not None:
        return now - _duration(relative)
    if _ISO.fullmatch(words):
        return _read_iso(words)
    return None


def _duration(found: re.Match[str]) -> timedelta:
    count = int(found.groupdict().get("count") or 1)
    return timedelta(**{_UNIT_OF[found.group("unit")]: count})


def _read_iso(words: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_SPACE_BEFORE_ZONE.sub("", words).upper())
    except ValueError:
        return None
    if moment.tzinfo is None:
        # A naive datetime's astimezone() reads it as the machine's local time.
        moment = moment.astimezone()
    return moment.astimezone(UTC)


def _local_midnight(day: date) -> datetime:
    # Built naive and then localised, so that a day on which the clocks
    # change gets the offset in force at its own midnight.
    return datetime.combine(day, time()).astimezone().astimezone(UTC)
