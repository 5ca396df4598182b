"""IBAN, BIC, creditor identifier and the deterministic id builders."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from sepa.charset import check_identifier
from sepa.errors import SepaValidationError
from sepa.ids import (
    bic_from_iban,
    end_to_end_id,
    join_id,
    mask_account,
    normalize_iban,
    pmt_inf_id,
    validate_bic,
    validate_creditor_id,
    validate_iban,
    validate_sepa_iban,
)

VALID_IBANS = [
    "NL91ABNA0417164300", "DE89370400440532013000", "BE68539007547034",
    "FR1420041010050500013M02606", "AT611904300234573201", "GB82WEST12345698765432",
    "CH9300762011623852957", "IT60X0542811101000000123456", "ES9121000418450200051332",
    "LU280019400644750000", "NO9386011117947", "MT84MALT011000012345MTLCAST001S",
]


def test_normalize_iban():
    assert normalize_iban(" nl91 abna 0417 1643 00 ") == "NL91ABNA0417164300"


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans(iban):
    assert validate_iban(iban) == iban
    spaced = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)).lower()
    assert validate_iban(spaced) == iban


@pytest.mark.parametrize(("value", "reason"), [
    ("NL91ABNA0417164301", "checksum"),
    ("NL91ABNA041716430", "length"),
    ("NL91ABN10417164300", "structure"),
    ("XX91ABNA0417164300", "country"),
    ("NL9!ABNA0417164300", "characters"),
])
def test_invalid_ibans_name_the_value_and_the_reason(value, reason):
    with pytest.raises(SepaValidationError) as info:
        validate_iban(value, "DbtrAcct IBAN")
    message = str(info.value)
    assert message.startswith(f"DbtrAcct IBAN {value!r} is invalid")
    assert reason in message.lower()
    assert info.value.value == value


@pytest.mark.parametrize("value", ["", "   ", None, 42])
def test_empty_or_non_string_iban(value):
    with pytest.raises(SepaValidationError):
        validate_iban(value)


def test_sepa_country_required_for_collections():
    assert validate_sepa_iban("CH9300762011623852957") == "CH9300762011623852957"
    with pytest.raises(SepaValidationError, match="not in a SEPA country"):
        validate_sepa_iban("BR1800360305000010009795493C1")


def _schwifty_accepts(value):
    try:
        IBAN(value)
    except SchwiftyException:
        return False
    return True


@given(st.sampled_from(VALID_IBANS), st.integers(min_value=2, max_value=33),
       st.sampled_from("0123456789ABCDEFXYZ"))
def test_same_verdict_as_schwifty_on_mutated_ibans(iban, position, char):
    mutated = iban[:position] + char + iban[position + 1:]
    try:
        validate_iban(mutated)
        ours = True
    except SepaValidationError:
        ours = False
    assert ours == _schwifty_accepts(mutated)


def test_bic_from_iban():
    assert bic_from_iban("NL91ABNA0417164300") == "ABNANL2A"
    assert bic_from_iban("DE89 3704 0044 0532 0130 00") == "COBADEFFXXX"
    assert bic_from_iban("NL91ABNA0417164301") is None
    assert bic_from_iban("not an iban") is None
    assert bic_from_iban(None) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("ABNANL2A", "ABNANL2A"), ("abnanl2a", "ABNANL2A"), ("COBA DE FF XXX", "COBADEFFXXX"),
])
def test_valid_bics(value, expected):
    assert validate_bic(value) == expected


@pytest.mark.parametrize("value", ["ABNANL2", "ABNAXX2A", "ABNANL2AXX", "", "ABNA-NL2A"])
def test_invalid_bics(value):
    with pytest.raises(SepaValidationError) as info:
        validate_bic(value, "DbtrAgt BIC")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(("value", "expected"), [
    ("NL08ZZZ502057730000", "NL08ZZZ502057730000"),
    ("nl08 zzz 502057730000", "NL08ZZZ502057730000"),
    ("DE98ZZZ09999999999", "DE98ZZZ09999999999"),
    ("ES23ZZZ47690558N", "ES23ZZZ47690558N"),
    ("BG22ZZZ507778", "BG22ZZZ507778"),
])
def test_valid_creditor_ids(value, expected):
    assert validate_creditor_id(value) == expected


@pytest.mark.parametrize(("value", "reason"), [
    ("NL09ZZZ502057730000", "check digits do not match"),
    ("DE99ZZZ09999999999", "check digits do not match"),
    ("NL08", "expected 2 letters, 2 check digits"),
    ("08NLZZZ502057730000", "expected 2 letters, 2 check digits"),
    ("NL08ZZZ5020-57730000", "expected 2 letters, 2 check digits"),
    ("", "is empty"),
    (None, "is empty"),
])
def test_invalid_creditor_ids_name_the_value(value, reason):
    with pytest.raises(SepaValidationError) as info:
        validate_creditor_id(value)
    assert repr(value) in str(info.value)
    assert reason in str(info.value)
    assert info.value.field == "CdtrSchmeId"


def test_id_builders_are_deterministic():
    assert end_to_end_id("B2025-07", 12) == "B2025-07-12"
    assert pmt_inf_id("MSG-1", 3) == "MSG-1-P3"
    assert end_to_end_id("B2025-07", 12) == end_to_end_id("B2025-07", 12)


def test_long_bases_are_shortened_with_a_digest():
    base_a, base_b = "A" * 30 + "1", "A" * 30 + "2"
    id_a, id_b = pmt_inf_id(base_a, 1), pmt_inf_id(base_b, 1)
    assert len(id_a) == len(id_b) <= 35
    assert id_a != id_b
    assert id_a == pmt_inf_id(base_a, 1)


def test_id_builder_refuses_an_invalid_base():
    with pytest.raises(SepaValidationError, match="EndToEndId"):
        end_to_end_id("bad//ref", 1)


_ID_CHARS = "ABCXYZabc0189-/?:().,'+ "


@given(st.text(alphabet=_ID_CHARS, min_size=1, max_size=35), st.integers(0, 10**9))
def test_built_ids_are_valid_identifiers(base, number):
    try:
        check_identifier(base, "base")
    except SepaValidationError:
        return
    built = join_id(base, number)
    assert check_identifier(built, "built") == built
    assert len(built) <= 35


def test_mask_account():
    assert mask_account("NL91ABNA0417164300") == "NL91 **** **** 4300"
    assert mask_account("nl91 abna 0417 1643 00") == "NL91 **** **** 4300"
    assert mask_account("12345") == "*2345"
    assert mask_account(None) == ""
