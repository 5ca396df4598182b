"""Sanity of the reason-code catalogue."""

import re

import pytest

from sepa.readers.records import STORNO_KINDS
from sepa.reasons import (
    CATALOGUE,
    CATEGORIES,
    FAULTS,
    REVOKE_AT_ONCE,
    UNKNOWN_POINTS,
    ReasonCode,
    get_reason,
    points_for,
)

SDD_CODES = (
    "AC01 AC04 AC06 AC13 AG01 AG02 AM04 AM05 BE05 CNOR DNOR FF01 MD01 MD02 MD06 MD07 "
    "MS02 MS03 RC01 RR01 RR02 RR03 RR04 SL01 FOCR DUPL TECH FRAD CURR ED05"
).split()


def test_every_sdd_code_is_catalogued():
    assert set(SDD_CODES) <= set(CATALOGUE)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_entry_is_consistent(code):
    entry = CATALOGUE[code]
    assert entry.code == code
    assert re.fullmatch(r"[A-Z]{2}[A-Z0-9]{2}", code)
    assert entry.category in CATEGORIES
    assert entry.label and entry.label[0].isupper()
    assert entry.known
    assert set(entry.kinds) <= set(STORNO_KINDS) and entry.kinds
    assert entry.revoke_mandate == (entry.points is REVOKE_AT_ONCE)
    if entry.revoke_mandate:
        assert not entry.retry_makes_sense
    else:
        assert isinstance(entry.points, int) and 0 <= entry.points < 10


def test_labels_are_unique():
    labels = [entry.label for entry in CATALOGUE.values()]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize(
    ("code", "points"),
    [
        ("AM04", 1),
        ("MS02", 2),
        ("MD06", 2),
        ("AC04", None),
        ("MD01", None),
        ("MD07", None),
        ("AC06", None),
    ],
)
def test_design_points(code, points):
    assert CATALOGUE[code].points == points


def test_points_for_threshold():
    assert points_for("AC04", threshold=5) == 5
    assert points_for("AM04", threshold=5) == 1
    assert points_for("ZZ99", threshold=5) == UNKNOWN_POINTS


def test_behaviour_of_common_codes():
    assert CATALOGUE["AM04"].retry_makes_sense
    assert CATALOGUE["AM04"].category == "amount"
    assert CATALOGUE["MD06"].kinds == ("refund",)
    assert not CATALOGUE["MD06"].retry_makes_sense
    assert not CATALOGUE["AM05"].keeps_first
    assert CATALOGUE["MS02"].keeps_first


def test_unknown_and_proprietary_codes():
    entry = get_reason("Bank-42 ")
    assert isinstance(entry, ReasonCode)
    assert entry.code == "Bank-42"
    assert not entry.known
    assert entry.category == "other"
    assert entry.points == UNKNOWN_POINTS
    assert not entry.revoke_mandate
    assert get_reason(None).code == ""


def test_lookup_is_case_insensitive():
    assert get_reason(" am04") is CATALOGUE["AM04"]


@pytest.mark.parametrize(
    ("code", "fault"),
    [
        ("AM04", "debtor"), ("AC01", "debtor"), ("AC04", "debtor"), ("AC06", "debtor"),
        ("AG01", "debtor"), ("MD01", "debtor"), ("MD06", "debtor"), ("MD07", "debtor"),
        ("MS02", "debtor"), ("MS03", "debtor"), ("SL01", "debtor"),
        ("AM05", "creditor"), ("FF01", "creditor"), ("DU01", "creditor"),
        ("BE05", "creditor"), ("RC01", "creditor"), ("MD02", "creditor"),
        ("CNOR", "bank"), ("DNOR", "bank"), ("TECH", "bank"), ("ED05", "bank"),
    ],
)
def test_whose_failure(code, fault):
    assert CATALOGUE[code].fault == fault


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_only_a_debtors_failure_counts(code):
    """The creditor's and the bank's failures bring no points (nor charges and fees)."""
    entry = CATALOGUE[code]
    assert entry.fault in FAULTS
    if entry.fault != "debtor":
        assert entry.points == 0 and not entry.revoke_mandate


def test_unknown_code_is_the_debtors():
    """Unknown codes keep counting as before: the debtor's failure, 1 point."""
    assert get_reason("ZZ99").fault == "debtor"


def test_duplicates_keep_nothing_first():
    for code in ("AM05", "DUPL", "DU01", "DU02"):
        assert CATALOGUE[code].duplicate and not CATALOGUE[code].keeps_first
    assert not CATALOGUE["FF01"].duplicate


def test_codes_that_need_a_new_account_or_mandate():
    """A retry on the same account cannot succeed: never proposed as a retry; of these,
    a closed or wrong account makes the mandate's account invalid."""
    needing = {code for code, entry in CATALOGUE.items() if entry.needs_new_account}
    assert needing == {"AC01", "AC04", "AC06", "MD01", "MD07", "MS02"}
    invalid = {code for code, entry in CATALOGUE.items() if entry.invalidates_account}
    assert invalid == {"AC01", "AC04"}
    assert not any(CATALOGUE[code].retry_makes_sense for code in needing)
    assert not CATALOGUE["MD06"].needs_new_account  # a refund: warned, not refused
    assert not get_reason("ZZ99").needs_new_account


def test_represented_automatically_only_for_want_of_money():
    flagged = {code for code, entry in CATALOGUE.items() if entry.represent_automatically}
    assert flagged == {"AM04", "MS03"}
    assert not get_reason("ZZ99").represent_automatically
    # every flagged code is the debtor's and can succeed again on the same account
    assert all(CATALOGUE[code].fault == "debtor" and CATALOGUE[code].retry_makes_sense
               and not CATALOGUE[code].needs_new_account for code in flagged)
