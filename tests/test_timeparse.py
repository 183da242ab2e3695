"""Times as ``--started-after`` reads them: ISO dates and relative phrases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yanex.errors import FilterError
from yanex.timeparse import parse_time

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def set_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> Iterator[None]:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from set_zone(monkeypatch, "Europe/Berlin")


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from set_zone(monkeypatch, "UTC")


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int
) -> datetime:
    """A moment in UTC, written briefly."""
    return datetime(year, month, day, hour, minute, *rest, tzinfo=UTC)


# --- relative phrases ------------------------------------------------------


def test_now_is_the_given_moment() -> None:
    assert parse_time("now", NOW) == NOW


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    moment = parse_time("now")
    assert before <= moment <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("1 second ago", timedelta(seconds=1)),
        ("30 seconds ago", timedelta(seconds=30)),
        ("30s ago", timedelta(seconds=30)),
        ("5 minute ago", timedelta(minutes=5)),
        ("5 minutes ago", timedelta(minutes=5)),
        ("5m ago", timedelta(minutes=5)),
        ("90min ago", timedelta(minutes=90)),
        ("90 min ago", timedelta(minutes=90)),
        ("3 hours ago", timedelta(hours=3)),
        ("3h ago", timedelta(hours=3)),
        ("1 day ago", timedelta(days=1)),
        ("2 days ago", timedelta(days=2)),
        ("2d ago", timedelta(days=2)),
        ("1 week ago", timedelta(weeks=1)),
        ("2 weeks ago", timedelta(weeks=2)),
        ("2w ago", timedelta(weeks=2)),
        ("0 days ago", timedelta(0)),
    ],
)
def test_a_count_of_units_ago_goes_back_from_now(text: str, ago: timedelta) -> None:
    assert parse_time(text, NOW) == NOW - ago


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("last week", timedelta(weeks=1)),
        ("last day", timedelta(days=1)),
        ("last hour", timedelta(hours=1)),
    ],
)
def test_last_unit_is_one_unit_ago(text: str, ago: timedelta) -> None:
    assert parse_time(text, NOW) == NOW - ago


@pytest.mark.parametrize("text", ["2 DAYS AGO", "  2   days\tago ", "2 Days Ago"])
def test_phrases_ignore_case_and_spacing(text: str) -> None:
    assert parse_time(text, NOW) == at(2026, 11, 29, 12)


def test_a_naive_now_is_local_time(berlin: None) -> None:
    assert parse_time("1 hour ago", datetime(2026, 12, 1, 13)) == at(2026, 12, 1, 11)


def test_the_answer_is_in_utc_whatever_zone_now_is_in() -> None:
    now = datetime(2026, 12, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    moment = parse_time("now", now)
    assert (moment, moment.tzinfo) == (NOW, UTC)


def test_today_is_local_midnight(berlin: None) -> None:
    assert parse_time("today", NOW) == at(2026, 11, 30, 23)


def test_yesterday_is_the_local_midnight_before_today(berlin: None) -> None:
    assert parse_time("yesterday", NOW) == at(2026, 11, 29, 23)


def test_today_after_the_clocks_change_has_the_new_offset(berlin: None) -> None:
    # Summer time began in Berlin at 02:00 on Sunday 29 March 2026.
    assert parse_time("today", at(2026, 3, 30, 12)) == at(2026, 3, 29, 22)


def test_yesterday_before_the_clocks_change_has_the_old_offset(
    berlin: None,
) -> None:
    assert parse_time("yesterday", at(2026, 3, 30, 12)) == at(2026, 3, 28, 23)


def test_today_follows_the_local_date_not_the_utc_date(berlin: None) -> None:
    # 23:30 UTC is already the next day in Berlin.
    assert parse_time("today", at(2026, 12, 1, 23, 30)) == at(2026, 12, 1, 23)


def test_today_in_utc_is_utc_midnight(utc: None) -> None:
    assert parse_time("today", NOW) == at(2026, 12, 1)


# --- ISO 8601 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:30Z", at(2026, 12, 1, 10, 30)),
        ("2026-12-01T10:30:15Z", at(2026, 12, 1, 10, 30, 15)),
        ("2026-12-01T10:30:15.250Z", at(2026, 12, 1, 10, 30, 15, 250000)),
        ("2026-12-01 10:30:00Z", at(2026, 12, 1, 10, 30)),
        ("2026-12-01T10:30+02:00", at(2026, 12, 1, 8, 30)),
        ("2026-12-01T10:30:00-05:00", at(2026, 12, 1, 15, 30)),
        ("2026-12-01T10:30+0200", at(2026, 12, 1, 8, 30)),
        ("2026-12-01 10:30 +02:00", at(2026, 12, 1, 8, 30)),
        ("2026-12-01t10:30z", at(2026, 12, 1, 10, 30)),
    ],
)
def test_an_iso_time_with_an_offset_is_that_moment(
    berlin: None, text: str, expected: datetime
) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:30", at(2026, 12, 1, 9, 30)),
        ("2026-12-01 10:30:00", at(2026, 12, 1, 9, 30)),
        ("2026-07-01T10:30", at(2026, 7, 1, 8, 30)),
    ],
)
def test_an_iso_time_without_offset_is_local_time(
    berlin: None, text: str, expected: datetime
) -> None:
    assert parse_time(text) == expected


def test_an_iso_date_is_its_local_midnight(berlin: None) -> None:
    assert parse_time("2026-12-01") == at(2026, 11, 30, 23)


def test_an_iso_date_in_summer_is_its_local_midnight(berlin: None) -> None:
    assert parse_time("2026-07-01") == at(2026, 6, 30, 22)


def test_an_iso_date_in_utc_is_utc_midnight(utc: None) -> None:
    assert parse_time("  2026-12-01 ") == at(2026, 12, 1)


def test_an_iso_time_does_not_depend_on_now() -> None:
    assert parse_time("2026-01-01T00:00Z", NOW) == at(2026, 1, 1)


def test_every_answer_is_aware_and_in_utc(berlin: None) -> None:
    for text in ("now", "today", "yesterday", "2d ago", "2026-12-01T10:30"):
        assert parse_time(text, NOW).tzinfo is UTC


# --- errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2 fortnights ago",
        "1 month ago",
        "2 years ago",
        "last month",
        "tomorrow",
        "2 days",
        "days ago",
        "-2 days ago",
        "1.5 hours ago",
        "2026-13-01",
        "2026-02-30",
        "2026-12-01T25:00",
        "2026-12-01T10:30+2",
        "20261201",
        "2026-W48",
        "",
        "   ",
    ],
)
def test_an_unreadable_time_is_refused(text: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_time(text, NOW)
    assert str(caught.value) == (
        f"cannot read {text!r} as a time;"
        " use an ISO date like 2026-12-01 or a phrase like '2 days ago'"
    )


def test_a_phrase_reaching_before_year_one_is_refused() -> None:
    with pytest.raises(FilterError) as caught:
        parse_time("999999999 weeks ago", NOW)
    assert str(caught.value) == (
        "'999999999 weeks ago' falls outside the years 1 to 9999 that a time can name"
    )


def test_a_date_that_leaves_the_calendar_in_utc_is_refused(berlin: None) -> None:
    with pytest.raises(FilterError) as caught:
        parse_time("0001-01-01")
    assert str(caught.value) == (
        "'0001-01-01' falls outside the years 1 to 9999 that a time can name"
    )


def test_an_error_names_text_with_a_newline_on_one_line() -> None:
    with pytest.raises(FilterError) as caught:
        parse_time("2 days\nago!", NOW)
    assert "\n" not in str(caught.value)


@settings(max_examples=200, deadline=500, database=None)
@given(st.text(max_size=40))
def test_any_text_is_either_a_utc_time_or_a_filter_error(text: str) -> None:
    try:
        moment = parse_time(text, NOW)
    except FilterError as error:
        assert "\n" not in str(error)
    else:
        assert moment.tzinfo is UTC


@settings(max_examples=200, deadline=500, database=None)
@given(
    st.from_regex(
        r"[0-9]{1,12} ?(s|m|min|h|d|w|days?|weeks?) ago"
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"([T ][0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?)?",
        fullmatch=True,
    )
)
def test_text_shaped_like_a_time_is_a_utc_time_or_a_filter_error(text: str) -> None:
    try:
        moment = parse_time(text, NOW)
    except FilterError:
        return
    assert moment.tzinfo is UTC
