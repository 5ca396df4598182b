"""Pre-notification (vooraankondiging) of a SEPA direct debit: the dates and the masked
account the debtor is told about.

The EPC SDD rulebooks require the creditor to notify the debtor of the amount and the
collection date at least 14 calendar days before the collection, unless they agreed on
another period. The notice names the amount, the collection date, the mandate reference,
the creditor identifier and (by Dutch practice) the last digits of the debtor's account.
"""

import calendar
import datetime

from .calendar import _as_date, next_business_day
from .errors import SepaValidationError

#: Notice period of the rulebook, in calendar days.
DEFAULT_NOTICE_DAYS = 14


def mask_iban(value):
    """Return an IBAN with all but its country code and last four characters hidden,
    grouped by four as it is printed: ``NL91ABNA0417164300`` → ``NL** **** **** **4300``
    (the last four digits are never split)."""
    compact = "".join((value or "").split()).upper()
    if len(compact) <= 6:
        return "*" * max(len(compact) - 4, 0) + compact[-4:]
    head = compact[:2] + "*" * (len(compact) - 6)
    groups = [head[i:i + 4] for i in range(0, len(head), 4)]
    if len(groups[-1]) < 4:
        groups[-1] += compact[-4:]
    else:
        groups.append(compact[-4:])
    return " ".join(groups)


def planned_collection_date(due_date, collection_day=0, not_before=None):
    """Return the collection date announced for an invoice due on ``due_date``.

    With a ``collection_day`` of the month (1-31; the last day of a shorter month), the
    first such day on or after the due date; else the due date. Never before
    ``not_before`` (the earliest date the notice allows), and moved to the next TARGET2
    business day.
    """
    day = _as_date(due_date)
    if isinstance(collection_day, bool) or not isinstance(collection_day, int) \
            or not 0 <= collection_day <= 31:
        raise SepaValidationError(
            f"collection day {collection_day!r} must be a day of the month (1-31) or 0",
            field="collection_day", value=collection_day)
    if collection_day:
        day = _day_of_month(day.year, day.month, collection_day)
        if day < _as_date(due_date):
            year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
            day = _day_of_month(year, month, collection_day)
    if not_before is not None:
        day = max(day, _as_date(not_before))
    return next_business_day(day)


def earliest_collection_after_notice(notified, notice_days=DEFAULT_NOTICE_DAYS):
    """Return the first collection date a notice that reached the debtor on ``notified``
    allows: ``notice_days`` calendar days later, on the next TARGET2 business day."""
    if isinstance(notice_days, bool) or not isinstance(notice_days, int) or notice_days < 0:
        raise SepaValidationError(
            f"notice period {notice_days!r} must be a whole number of days >= 0",
            field="notice_days", value=notice_days)
    return next_business_day(_as_date(notified) + datetime.timedelta(days=notice_days))


def _day_of_month(year, month, day):
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))
