"""TARGET2 business days and SEPA Direct Debit lead times.

TARGET2 (the euro interbank settlement system, whose calendar the SEPA schemes follow)
is closed on Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May,
25 December and 26 December. Every other day is a business day.

Lead times (EPC SDD Core and B2B rulebooks since November 2016): the creditor's bank
must present a collection to the debtor's bank at the latest one business day before
the due date (D-1) for CORE, all sequence types, and for B2B alike. On top of that the
creditor's own bank wants the file some business days earlier (its "bank lead time"),
and a file that arrives after the bank's daily cut-off time counts as arriving on the
next business day.
"""

import calendar
import datetime
import functools

from .errors import SepaValidationError

#: Interbank lead time in TARGET2 business days, per scheme.
INTERBANK_DAYS = {"CORE": 1, "B2B": 1}

_ONE_DAY = datetime.timedelta(days=1)


def easter_sunday(year):
    """Return Easter Sunday of ``year`` (Gregorian computus, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


@functools.lru_cache(maxsize=256)
def target2_holidays(year):
    """Return the fixed and Easter-based TARGET2 closing days of ``year``.

    The set holds 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December
    (some of them may fall on a weekend).
    """
    easter = easter_sunday(year)
    return frozenset({
        datetime.date(year, 1, 1),
        easter - 2 * _ONE_DAY,
        easter + _ONE_DAY,
        datetime.date(year, 5, 1),
        datetime.date(year, 12, 25),
        datetime.date(year, 12, 26),
    })


def is_business_day(day):
    """Return True when TARGET2 is open on ``day`` (a date or datetime)."""
    day = _as_date(day)
    return day.weekday() < 5 and day not in target2_holidays(day.year)


def next_business_day(day):
    """Return ``day`` itself when it is a business day, else the next business day."""
    day = _as_date(day)
    while not is_business_day(day):
        day += _ONE_DAY
    return day


def previous_business_day(day):
    """Return ``day`` itself when it is a business day, else the previous business day."""
    day = _as_date(day)
    while not is_business_day(day):
        day -= _ONE_DAY
    return day


def add_business_days(day, n):
    """Return the date ``n`` business days after ``day`` (before it when ``n`` < 0).

    ``day`` itself need not be a business day: counting starts from the next (previous)
    calendar day, and only business days count. ``n == 0`` returns ``day`` unchanged.
    """
    day = _as_date(day)
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_business_day(day):
            remaining -= 1
    return day


def earliest_collection_date(submission, scheme="CORE", bank_cutoff_days=0, cutoff_time=None):
    """Return the earliest ReqdColltnDt for a file handed to the bank at ``submission``.

    Rule: the effective submission day is the submission date, moved to the next
    business day when it is not a business day or when ``submission`` is a datetime later
    than ``cutoff_time`` (then the next business day after it). The earliest collection
    date is that day plus ``bank_cutoff_days`` (the creditor bank's own lead time) plus
    the scheme's interbank lead time (1 for CORE and B2B), counted in TARGET2 business
    days. Example: submitted Monday 10:00 (cut-off 12:00), bank lead 1 day → the bank
    forwards on Tuesday, D-1 is Tuesday → collection on Wednesday.
    """
    interbank = _interbank_days(scheme)
    _check_days(bank_cutoff_days)
    day = _as_date(submission)
    late = (
        cutoff_time is not None
        and isinstance(submission, datetime.datetime)
        and submission.time().replace(tzinfo=None) > cutoff_time
    )
    if late:
        day += _ONE_DAY
    day = next_business_day(day)
    return add_business_days(day, bank_cutoff_days + interbank)


def latest_delivery_date(collection_date, scheme="CORE", bank_lead_days=0):
    """Return the last business day on which the file must reach the creditor's bank.

    Rule: ``collection_date`` minus (``bank_lead_days`` + the scheme's interbank lead time)
    TARGET2 business days; the inverse of :func:`earliest_collection_date` for a
    submission before the cut-off time. A collection date on a closing day is settled on
    the next business day, and counting back from it gives the same result.
    """
    interbank = _interbank_days(scheme)
    _check_days(bank_lead_days)
    return add_business_days(collection_date, -(bank_lead_days + interbank))


def next_collection_day(earliest, day_of_month):
    """Return the company's collection day of the month on or after ``earliest``.

    ``day_of_month`` 1-28 (every month has it): that day of the month of ``earliest``,
    or of the next month when it has passed, moved to the next TARGET2 business day
    when it is a closing day (a weekend, 25 December, 1 January). 0: no collection day,
    ``earliest`` itself.
    """
    earliest = _as_date(earliest)
    if isinstance(day_of_month, bool) or not isinstance(day_of_month, int) \
            or not 0 <= day_of_month <= 28:
        raise SepaValidationError(
            f"day of the month {day_of_month!r} must be a whole number from 0 to 28",
            field="day_of_month", value=day_of_month,
        )
    if not day_of_month:
        return earliest
    day = earliest.replace(day=day_of_month)
    if day < earliest:
        year, month = divmod(earliest.month, 12)  # the next month (January after December)
        day = day.replace(year=earliest.year + year, month=month + 1)
    return next_business_day(day)

def representation_date(today, payday, scheme="CORE", bank_lead_days=0, not_before=None):
    """Return the collection date of a debit re-presented after payday.

    Rule: this month's payday (``payday``, a day of the month, moved to the month's last
    day in shorter months) while it is not past on ``today``, else next month's; moved
    to the next TARGET2 business day, and never earlier than the earliest collection
    date of a file handed to the bank ``today`` (:func:`earliest_collection_date`) nor
    than ``not_before`` (e.g. the end of a pre-notification period), both business days.
    Example: failed on 20 September 2027, payday the 25th (a Saturday) → Monday
    27 September; failed on 28 December 2026 → 25 January 2027.
    """
    if isinstance(payday, bool) or not isinstance(payday, int) or not 1 <= payday <= 31:
        raise SepaValidationError(
            f"payday {payday!r} must be a day of the month (1 to 31)",
            field="payday", value=payday,
        )
    today = _as_date(today)
    month = today.replace(day=1)
    pay = _day_of_month(month, payday)
    if pay < today:
        month = (month + datetime.timedelta(days=31)).replace(day=1)
        pay = _day_of_month(month, payday)
    earliest = earliest_collection_date(today, scheme, bank_cutoff_days=bank_lead_days)
    if not_before is not None:
        earliest = max(earliest, next_business_day(not_before))
    return max(next_business_day(pay), earliest)


def _day_of_month(month, day):
    """Return day ``day`` of the month of ``month``, its last day when shorter."""
    last = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=min(day, last))


def _interbank_days(scheme):
    """Return the interbank lead time of ``scheme`` or raise for an unknown scheme."""
    try:
        return INTERBANK_DAYS[scheme]
    except KeyError:
        raise SepaValidationError(
            f"scheme {scheme!r} is unknown (expected CORE or B2B)", field="scheme", value=scheme
        ) from None


def _check_days(days):
    """Refuse a negative or non-integer lead time."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise SepaValidationError(
            f"bank lead time {days!r} must be a whole number of days >= 0",
            field="bank_lead_days", value=days,
        )


def _as_date(value):
    """Return the date part of a date or datetime."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raise SepaValidationError(f"{value!r} is not a date", field="date", value=value)
