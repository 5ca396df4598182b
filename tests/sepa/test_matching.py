"""Is a bank transaction the return of our debits? (sepa.matching, shared by the return
file import and bank statement lines)."""

from decimal import Decimal

import pytest

from sepa.matching import (
    CHARGE_ABOVE_MAX,
    LESS_THAN_DEBIT,
    NOT_A_RETURN,
    OTHER_CREDITOR,
    bank_code_in,
    bank_debit_category,
    creditor_ids_in,
    identifier_candidates,
    judge_return,
    mentions,
    reversal_in,
    same_creditor,
)
from sepa.readers.camt import DD_OTHER, RETURNED, SKIP, STORNO, UNKNOWN

OURS = "NL69ZZZ123456780000"
FEDERATION = "NL08ZZZ502057730000"
E2E = "SDD-2027-00004-17"


def test_mentions_whole_words_only():
    assert mentions(f"/EREF/{E2E}/", E2E)
    assert mentions(f"storno {E2E.lower()} am04", E2E)
    assert not mentions(f"{E2E}0", E2E)
    assert not mentions(f"{E2E}-1", E2E)
    assert not mentions(f"X{E2E}", E2E)


@pytest.mark.parametrize("text", ["SEPA  INCASSO", "/EREF/ /CSID/", "  ", "", None])
def test_empty_identifier_is_mentioned_nowhere(text):
    assert not mentions(text, "")
    assert not mentions(text, None)


def test_identifier_candidates_are_whole_words():
    candidates = identifier_candidates(f"/EREF/{E2E}/ /CSID/{FEDERATION}/ storno am04")
    assert E2E in candidates
    assert FEDERATION in candidates
    assert "AM04" in candidates  # upper-cased as well
    assert "SDD-2027-00004-1" not in candidates
    assert all(len(candidate) <= 35 for candidate in candidates)
    assert identifier_candidates(None) == set()


def test_creditor_ids_in_texts_and_details():
    assert creditor_ids_in([f"/EREF/{E2E}/ /CSID/{FEDERATION}/ /REMI/dues/"]) == (FEDERATION,)
    assert creditor_ids_in(["SVWZ+dues CRED+de98zzz09999999999 EREF+X"]) == (
        "DE98ZZZ09999999999",)
    assert creditor_ids_in(["/CSID/NOT-AN-ID/"]) == ()
    assert creditor_ids_in([], {"TxDtls": {"CdtrSchmeId": f" {OURS} "}}) == (OURS,)
    assert creditor_ids_in([], {"CdtrSchmeId": {"Id": {"PrvtId": {"Othr": {"Id": OURS}}}}}) \
        == (OURS,)
    camt = {"RltdPties": {"Cdtr": {"Id": {"PrvtId": {"Othr": {
        "Id": FEDERATION, "SchmeNm": {"Prtry": "SEPA"}}}}}}}
    assert creditor_ids_in([], camt) == (FEDERATION,)
    # a debtor's private id is no creditor identifier
    debtor = {"RltdPties": {"Dbtr": {"Id": {"PrvtId": {"Othr": {
        "Id": FEDERATION, "SchmeNm": {"Prtry": "SEPA"}}}}}}}
    assert creditor_ids_in([], debtor) == ()
    assert creditor_ids_in([f"/CSID/{OURS}/"], {"CdtrSchmeId": OURS}) == (OURS,)


def test_same_creditor_ignores_the_business_code():
    assert same_creditor(OURS, "nl69 abc 123456780000")
    assert not same_creditor(OURS, FEDERATION)
    assert not same_creditor(OURS, None)


@pytest.mark.parametrize(("transaction_type", "details", "code"), [
    ("PMNT-RDDT-ESDD", None, ("PMNT", "RDDT", "ESDD")),
    ("pmnt/iddt/updd", None, ("PMNT", "IDDT", "UPDD")),
    ("PMNT-RDDT", None, ("PMNT", "RDDT", None)),
    ("PMNT", None, None),  # no family: decides nothing
    ("SEPA Lastschrift", None, None),
    ("NDDT", None, None),
    (None, {"BkTxCd": {"Domn": {"Cd": "PMNT", "Fmly": {"Cd": "IDDT", "SubFmlyCd": "UPDD"}}}},
     ("PMNT", "IDDT", "UPDD")),
    (None, {"BkTxCd": {"Prtry": {"Cd": "N654"}}}, None),
])
def test_bank_code_in(transaction_type, details, code):
    assert bank_code_in(transaction_type, details) == code


def test_bank_debit_category_is_the_readers_classification():
    assert bank_debit_category(None) is None
    assert bank_debit_category(("PMNT", "IDDT", "ESDD")) == STORNO
    assert bank_debit_category(("PMNT", "RDDT", "UPDD")) == STORNO
    assert bank_debit_category(("PMNT", "RDDT", "ESDD")) == DD_OTHER
    assert bank_debit_category(("PMNT", "RDDT", "ESDD"), reversal=True) == STORNO
    assert bank_debit_category(("PMNT", "ICDT", "ESCT")) == RETURNED
    assert bank_debit_category(("XTND", "NTAV", "NTAV")) not in (STORNO, UNKNOWN)


def test_reversal_in():
    assert reversal_in(["Reversal Indicator (RvslInd): true"])
    assert not reversal_in(["Reversal Indicator (RvslInd): false"])
    assert reversal_in([], {"Ntry": {"RvslInd": True}})
    assert not reversal_in([], {"RvslInd": "false"})


D = Decimal


@pytest.mark.parametrize(("kwargs", "verdict"), [
    ({}, (None, None)),
    ({"amount": D("25.00")}, (None, D("0.00"))),
    ({"amount": D("28.00"), "max_charge": D("10.00")}, (None, D("3.00"))),
    ({"amount": D("35.00"), "max_charge": D("10.00")}, (None, D("10.00"))),
    ({"amount": D("35.01"), "max_charge": D("10.00")}, (CHARGE_ABOVE_MAX, D("10.01"))),
    ({"amount": D("500.00"), "max_charge": D("10.00")}, (CHARGE_ABOVE_MAX, D("475.00"))),
    # the bank states the charge itself
    ({"amount": D("40.00"), "charges": D("15.00"), "max_charge": D("10.00")},
     (None, D("15.00"))),
    ({"amount": D("20.00")}, (LESS_THAN_DEBIT, D("-5.00"))),
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION,), "our_creditor_id": OURS},
     (OTHER_CREDITOR, None)),
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION, OURS), "our_creditor_id": OURS},
     (None, D("0.00"))),
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION,)}, (None, D("0.00"))),  # no id of ours
    # a company collecting under several identifiers: any of them is ours
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION,), "our_creditor_id": (OURS, FEDERATION)},
     (None, D("0.00"))),
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION,), "our_creditor_id": (OURS,)},
     (OTHER_CREDITOR, None)),
    ({"amount": D("25.00"), "category": DD_OTHER}, (NOT_A_RETURN, None)),
    ({"amount": D("25.00"), "category": RETURNED}, (NOT_A_RETURN, None)),
    ({"amount": D("25.00"), "category": STORNO}, (None, D("0.00"))),
    ({"amount": D("25.00"), "category": UNKNOWN}, (None, D("0.00"))),
])
def test_judge_return(kwargs, verdict):
    assert judge_return(D("25.00"), **kwargs) == verdict


@pytest.mark.parametrize(("kwargs", "verdict"), [
    # the bank's debit of what a registered storno left open: a charge booked apart
    ({"amount": D("5.00"), "category": SKIP}, (None, None)),
    ({"amount": D("500.00")}, (None, None)),  # the caller checks the open amount
    ({"amount": D("25.00"), "category": DD_OTHER}, (NOT_A_RETURN, None)),
    ({"amount": D("25.00"), "creditor_ids": (FEDERATION,), "our_creditor_id": OURS},
     (OTHER_CREDITOR, None)),
])
def test_judge_the_bank_debit_of_registered_stornos(kwargs, verdict):
    assert judge_return(D("25.00"), registered=True, **kwargs) == verdict
