"""TARGET2 calendar and SEPA Direct Debit lead times."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sepa.calendar import (
    add_business_days,
    earliest_collection_date,
    easter_sunday,
    is_business_day,
    latest_delivery_date,
    next_business_day,
    next_collection_day,
    previous_business_day,
    target2_holidays,
)
from sepa.errors import SepaValidationError

D = datetime.date


@pytest.mark.parametrize(("year", "easter"), [
    (1818, D(1818, 3, 22)), (1943, D(1943, 4, 25)), (2000, D(2000, 4, 23)),
    (2008, D(2008, 3, 23)), (2019, D(2019, 4, 21)), (2024, D(2024, 3, 31)),
    (2025, D(2025, 4, 20)), (2026, D(2026, 4, 5)), (2027, D(2027, 3, 28)),
    (2038, D(2038, 4, 25)), (2285, D(2285, 3, 22)),
])
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


@pytest.mark.parametrize(("year", "good_friday", "easter_monday"), [
    (2024, D(2024, 3, 29), D(2024, 4, 1)),
    (2025, D(2025, 4, 18), D(2025, 4, 21)),
    (2026, D(2026, 4, 3), D(2026, 4, 6)),
])
def test_target2_holidays(year, good_friday, easter_monday):
    assert target2_holidays(year) == {
        D(year, 1, 1), good_friday, easter_monday, D(year, 5, 1), D(year, 12, 25),
        D(year, 12, 26),
    }
    assert not is_business_day(good_friday)
    assert not is_business_day(easter_monday)
    assert is_business_day(good_friday - datetime.timedelta(days=1))


@pytest.mark.parametrize("day", [
    D(2025, 1, 1), D(2025, 5, 1), D(2025, 12, 25), D(2025, 12, 26),
    D(2025, 3, 1), D(2025, 3, 2),  # Saturday, Sunday
])
def test_closing_days(day):
    assert not is_business_day(day)


@pytest.mark.parametrize("day", [
    D(2025, 1, 2), D(2025, 12, 24), D(2025, 12, 31), D(2025, 5, 29),  # Ascension: open
    D(2025, 6, 9),  # Whit Monday: open
])
def test_open_days(day):
    assert is_business_day(day)
    assert is_business_day(datetime.datetime.combine(day, datetime.time(23, 59)))


def test_next_and_previous_business_day():
    assert next_business_day(D(2025, 4, 18)) == D(2025, 4, 22)
    assert previous_business_day(D(2025, 4, 21)) == D(2025, 4, 17)
    assert next_business_day(D(2025, 4, 17)) == D(2025, 4, 17)


def test_add_business_days_skips_easter_and_christmas():
    assert add_business_days(D(2025, 4, 17), 1) == D(2025, 4, 22)
    assert add_business_days(D(2025, 4, 22), -1) == D(2025, 4, 17)
    assert add_business_days(D(2025, 12, 24), 1) == D(2025, 12, 29)
    assert add_business_days(D(2025, 12, 31), 1) == D(2026, 1, 2)
    assert add_business_days(D(2025, 3, 1), 0) == D(2025, 3, 1)
    assert add_business_days(D(2025, 3, 1), 1) == D(2025, 3, 3)


def test_earliest_collection_date_core():
    # Thursday before Easter, before the cut-off, bank lead time 1 day:
    # the bank forwards on Tuesday 22 April (D-1), collection on Wednesday 23 April.
    submitted = datetime.datetime(2025, 4, 17, 10, 0)
    assert earliest_collection_date(submitted, "CORE", 1, datetime.time(12)) == D(2025, 4, 23)
    # After the cut-off the file counts as arriving on Tuesday 22 April.
    late = datetime.datetime(2025, 4, 17, 13, 0)
    assert earliest_collection_date(late, "CORE", 1, datetime.time(12)) == D(2025, 4, 24)
    # Without a bank lead time: D-1 only.
    assert earliest_collection_date(D(2025, 3, 3), "CORE") == D(2025, 3, 4)


def test_earliest_collection_date_b2b_and_weekend_submission():
    assert earliest_collection_date(D(2025, 3, 1), "B2B", 0) == D(2025, 3, 4)
    assert earliest_collection_date(D(2025, 3, 1), "B2B", 2) == D(2025, 3, 6)


def test_latest_delivery_date():
    assert latest_delivery_date(D(2025, 4, 22), "CORE", 1) == D(2025, 4, 16)
    assert latest_delivery_date(D(2025, 4, 22), "CORE", 0) == D(2025, 4, 17)
    assert latest_delivery_date(D(2026, 1, 2), "B2B", 2) == D(2025, 12, 29)
    # A collection date on a closing day settles the next business day.
    assert latest_delivery_date(D(2025, 4, 21), "CORE", 0) == D(2025, 4, 17)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
       st.integers(min_value=0, max_value=10), st.sampled_from(["CORE", "B2B"]))
def test_latest_delivery_is_the_inverse_of_earliest_collection(day, lead, scheme):
    submission = next_business_day(day)
    collection = earliest_collection_date(submission, scheme, lead)
    assert is_business_day(collection)
    assert latest_delivery_date(collection, scheme, lead) == submission


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
       st.integers(min_value=-30, max_value=30))
def test_add_business_days_counts_business_days(day, n):
    result = add_business_days(day, n)
    low, high = sorted((day, result))
    between = [low + datetime.timedelta(days=i) for i in range(1, (high - low).days + 1)]
    if n < 0:
        between = [low + datetime.timedelta(days=i) for i in range((high - low).days)]
    assert sum(is_business_day(d) for d in between) == abs(n)
    if n:
        assert is_business_day(result)


def test_unknown_scheme_and_bad_lead_time():
    with pytest.raises(SepaValidationError, match="'COR1' is unknown"):
        earliest_collection_date(D(2025, 3, 3), "COR1")
    with pytest.raises(SepaValidationError, match="whole number"):
        latest_delivery_date(D(2025, 3, 3), "CORE", -1)
    with pytest.raises(SepaValidationError, match="not a date"):
        is_business_day("2025-03-03")


@pytest.mark.parametrize(("earliest", "day", "expected"), [
    (D(2026, 3, 4), 0, D(2026, 3, 4)),  # no day of the month: the earliest date
    (D(2026, 3, 4), 10, D(2026, 3, 10)),  # later this month
    (D(2026, 3, 10), 10, D(2026, 3, 10)),  # the earliest date itself
    (D(2026, 3, 11), 10, D(2026, 4, 10)),  # passed: next month
    (D(2026, 3, 4), 7, D(2026, 3, 9)),  # a Saturday: the Monday after
    (D(2026, 12, 23), 25, D(2026, 12, 28)),  # Christmas, Boxing Day, Sunday
    (D(2026, 12, 30), 1, D(2027, 1, 4)),  # across the year end: 1 Jan, weekend
    (D(2027, 1, 29), 28, D(2027, 3, 1)),  # across month end: 28 Feb is a Sunday
    (D(2026, 12, 30), 28, D(2027, 1, 28)),  # December to January
])
def test_next_collection_day(earliest, day, expected):
    assert next_collection_day(earliest, day) == expected


@given(st.dates(D(2000, 1, 1), D(2090, 12, 1)), st.integers(1, 28))
def test_next_collection_day_is_a_business_day_on_or_after_the_earliest(earliest, day):
    result = next_collection_day(earliest, day)
    assert result >= earliest
    assert is_business_day(result)
    assert (result - earliest).days <= 35  # this month or the next, plus closing days


def test_next_collection_day_refuses_a_bad_day():
    for day in (-1, 29, 31, 1.5, True):
        with pytest.raises(SepaValidationError, match="day of the month"):
            next_collection_day(D(2026, 3, 4), day)
