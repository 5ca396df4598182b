"""Pre-notification dates and the masked account of the notice."""

import datetime

import pytest

from sepa.errors import SepaValidationError
from sepa.notice import earliest_collection_after_notice, mask_iban, planned_collection_date

D = datetime.date


@pytest.mark.parametrize(("iban", "masked"), [
    ("NL91ABNA0417164300", "NL** **** **** **4300"),
    ("NL91 ABNA 0417 1643 00", "NL** **** **** **4300"),
    ("DE89370400440532013000", "DE** **** **** **** **3000"),
    ("BE68539007547034", "BE** **** **** 7034"),
    ("", ""),
])
def test_mask_iban(iban, masked):
    assert mask_iban(iban) == masked


def test_planned_date_is_the_due_date_on_a_business_day():
    assert planned_collection_date(D(2027, 3, 24)) == D(2027, 3, 24)  # Wednesday
    # Saturday 27 March 2027, Good Friday 26 March, Easter Monday 29 March
    assert planned_collection_date(D(2027, 3, 26)) == D(2027, 3, 30)


def test_planned_date_on_the_collection_day_of_the_month():
    assert planned_collection_date(D(2027, 3, 10), collection_day=25) == D(2027, 3, 25)
    assert planned_collection_date(D(2027, 3, 26), collection_day=25) == D(2027, 4, 26)  # 25 Sun
    assert planned_collection_date(D(2027, 1, 31), collection_day=31) == D(2027, 2, 1)
    assert planned_collection_date(D(2027, 2, 1), collection_day=31) == D(2027, 3, 1)  # 28 Feb Sun
    assert planned_collection_date(D(2027, 12, 28), collection_day=5) == D(2028, 1, 5)


def test_planned_date_respects_the_notice():
    assert planned_collection_date(D(2027, 3, 1), not_before=D(2027, 3, 15)) == D(2027, 3, 15)


def test_earliest_collection_after_notice():
    assert earliest_collection_after_notice(D(2027, 3, 3)) == D(2027, 3, 17)
    assert earliest_collection_after_notice(D(2027, 3, 3), 5) == D(2027, 3, 8)
    assert earliest_collection_after_notice(D(2027, 3, 12), 14) == D(2027, 3, 30)  # Easter
    with pytest.raises(SepaValidationError):
        earliest_collection_after_notice(D(2027, 3, 3), -1)
    with pytest.raises(SepaValidationError):
        planned_collection_date(D(2027, 3, 3), collection_day=32)
