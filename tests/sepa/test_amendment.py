"""The amendment a changed mandate reports: same bank → original account, another bank →
SMNDA, the banks compared by country and national bank code."""

import pytest
from schwifty import IBAN

from sepa.ids import same_bank, validate_iban
from sepa.model import Amendment


def iban(country, bank_code, account_code, **components):
    """A valid IBAN (check digits computed by schwifty) of a bank and an account."""
    value = str(IBAN.generate(country, bank_code=bank_code, account_code=account_code,
                              **components))
    return validate_iban(value)


NL_ABNA_1 = "NL91ABNA0417164300"
NL_ABNA_2 = iban("NL", "ABNA", "0123456789")  # NL02ABNA0123456789: other check digits
NL_INGB = iban("NL", "INGB", "0001234567")
DE_COBA_1 = iban("DE", "37040044", "0532013000")
DE_COBA_2 = iban("DE", "37040044", "0532013001")
DE_ING = iban("DE", "50010517", "5407325200")  # ING-DiBa, bank code 5001...
DE_POSTBANK = iban("DE", "50010060", "0123456789")  # Postbank, bank code 5001... too
BE_539_1 = iban("BE", "539", "0075470")
BE_539_2 = iban("BE", "539", "0123456")
BE_001 = iban("BE", "001", "2345678")
FR_20041_1 = iban("FR", "20041", "0500013M026", branch_code="01005")
FR_20041_2 = iban("FR", "20041", "0600014N027", branch_code="01005")
FR_30003 = iban("FR", "30003", "00020216134", branch_code="03620")

SAME_BANK = [
    (NL_ABNA_1, NL_ABNA_2),
    (DE_COBA_1, DE_COBA_2),
    (BE_539_1, BE_539_2),
    (FR_20041_1, FR_20041_2),
]
OTHER_BANK = [
    (NL_ABNA_1, NL_INGB),
    (DE_ING, DE_POSTBANK),  # the first four digits of the 8-digit bank codes agree
    (BE_539_1, BE_001),
    (FR_20041_1, FR_30003),
    (NL_ABNA_1, BE_539_1),
]


def test_known_iban_of_the_issue():
    assert NL_ABNA_2 == "NL02ABNA0123456789"


@pytest.mark.parametrize(("original", "new"), SAME_BANK)
def test_same_bank_reports_the_original_account(original, new):
    assert same_bank(original, new)
    amendment = Amendment.for_change(original, None, new)
    assert amendment == Amendment(original_debtor_iban=original)
    assert not amendment.smnda


@pytest.mark.parametrize(("original", "new"), OTHER_BANK)
def test_other_bank_reports_smnda(original, new):
    assert not same_bank(original, new)
    amendment = Amendment.for_change(original, None, new)
    assert amendment == Amendment(smnda=True)
    assert amendment.original_debtor_iban is None


def test_reference_change_with_and_without_account_change():
    assert Amendment.for_change(None, "OLD-1", NL_ABNA_1) == Amendment(
        original_mandate_id="OLD-1")
    assert Amendment.for_change(NL_ABNA_1, "OLD-1", NL_INGB) == Amendment(
        original_mandate_id="OLD-1", smnda=True)
    assert Amendment.for_change(NL_ABNA_1, "OLD-1", NL_ABNA_2) == Amendment(
        original_mandate_id="OLD-1", original_debtor_iban=NL_ABNA_1)


def test_creditor_change_reports_the_original_creditor_scheme_id():
    assert Amendment.for_change(None, None, NL_ABNA_1, original_creditor_id="NL69ZZZ123456780000",
                                original_creditor_name="Oude Vereniging") == Amendment(
        original_creditor_id="NL69ZZZ123456780000", original_creditor_name="Oude Vereniging")
    # with a new reference as well; a name without identifier is not reported
    assert Amendment.for_change(None, "OLD-1", NL_ABNA_1, original_creditor_name="X") == \
        Amendment(original_mandate_id="OLD-1")


def test_nothing_changed_is_no_amendment():
    assert Amendment.for_change(None, None, NL_ABNA_1) is None
    assert Amendment.for_change("", "", NL_ABNA_1) is None
    # Printed with spaces, the same account: no account change to report.
    assert Amendment.for_change("NL91 ABNA 0417 1643 00", None, NL_ABNA_1) is None


def test_spaces_and_case_do_not_matter():
    amendment = Amendment.for_change("nl91 abna 0417 1643 00", None, NL_ABNA_2)
    assert amendment == Amendment(original_debtor_iban=NL_ABNA_1)


def test_bic_decides_where_an_iban_gives_no_bank_code():
    unknown = "XX00UNKNOWN"  # no bank code to read
    assert same_bank(unknown, NL_ABNA_1, bic_a="ABNANL2A", bic_b="ABNANL2AXXX")
    assert not same_bank(unknown, NL_ABNA_1, bic_a="INGBNL2A", bic_b="ABNANL2A")
    # The other side's BIC comes from schwifty's bank registry (ABNA → ABNANL2A).
    assert same_bank(unknown, NL_ABNA_1, bic_a="ABNANL2A")
    # Nothing tells: not the same bank (SMNDA).
    assert not same_bank(unknown, NL_ABNA_1)
