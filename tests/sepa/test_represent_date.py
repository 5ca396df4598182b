"""The planned re-presentation date of a failed debit: the first collection date on or
after the payday (this month's while it is still ahead, else next month's), on a TARGET2
business day the bank can still reach."""

import calendar
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sepa.calendar import (
    earliest_collection_date,
    is_business_day,
    representation_date,
)
from sepa.errors import SepaValidationError

D = datetime.date


@pytest.mark.parametrize(("today", "payday", "lead", "expected"), [
    # payday ahead this month, on a business day
    (D(2027, 10, 4), 25, 1, D(2027, 10, 25)),
    # 25 September 2027 is a Saturday: Monday the 27th
    (D(2027, 9, 20), 25, 1, D(2027, 9, 27)),
    # 25 and 26 December are TARGET2 holidays, the 27th a Sunday: Monday the 28th
    (D(2026, 12, 10), 25, 1, D(2026, 12, 28)),
    # the payday is still ahead but the bank cannot collect on it: the first date it can
    (D(2026, 12, 24), 25, 1, D(2026, 12, 29)),
    # the payday passed: next month's (25 January 2027 is a Monday)
    (D(2026, 12, 28), 25, 1, D(2027, 1, 25)),
    # on the payday itself: this month, as soon as the bank can
    (D(2027, 10, 25), 25, 0, D(2027, 10, 26)),
    # a payday after the month's last day: its last day (28 February 2027 is a Sunday)
    (D(2027, 2, 1), 31, 1, D(2027, 3, 1)),
    # on the payday, a Sunday: the first date the bank can collect
    (D(2027, 1, 31), 31, 1, D(2027, 2, 3)),
    # next month across the year
    (D(2027, 12, 27), 25, 2, D(2028, 1, 25)),
])
def test_representation_date(today, payday, lead, expected):
    assert representation_date(today, payday, bank_lead_days=lead) == expected


@given(st.dates(D(2025, 1, 1), D(2035, 12, 31)), st.integers(1, 31), st.integers(0, 5),
       st.sampled_from(["CORE", "B2B"]))
def test_never_before_payday_nor_before_the_bank_can(today, payday, lead, scheme):
    planned = representation_date(today, payday, scheme, bank_lead_days=lead)
    assert is_business_day(planned)
    assert planned >= earliest_collection_date(today, scheme, bank_cutoff_days=lead)
    # on or after a payday (clamped to the month's last day) that is not before today
    month_start = planned.replace(day=1)
    previous = (month_start - datetime.timedelta(days=1)).replace(day=1)
    candidates = [_payday_of(month, payday) for month in (previous, month_start)]
    assert any(today <= day <= planned for day in candidates)
    # at most two months ahead
    assert planned <= today + datetime.timedelta(days=70)


def _payday_of(month_start, payday):
    last = calendar.monthrange(month_start.year, month_start.month)[1]
    return month_start.replace(day=min(payday, last))


def test_not_before_a_notice_period():
    # failed on 20 September 2027, 14 days' notice: not before 4 October (a Monday)
    assert representation_date(D(2027, 9, 20), 25, bank_lead_days=1,
                               not_before=D(2027, 10, 4)) == D(2027, 10, 4)
    # a notice period ending before the payday changes nothing
    assert representation_date(D(2027, 9, 1), 25, bank_lead_days=1,
                               not_before=D(2027, 9, 15)) == D(2027, 9, 27)
    # ending on a Saturday: the Monday after
    assert representation_date(D(2027, 9, 20), 25, not_before=D(2027, 10, 2)) \
        == D(2027, 10, 4)


def test_bad_payday():
    for payday in (0, 32, True, "25"):
        with pytest.raises(SepaValidationError):
            representation_date(D(2027, 1, 1), payday)
