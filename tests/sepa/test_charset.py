"""SEPA character set: transliteration, length limits and identifier checks."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sepa.charset import SEPA_CHARS, check_identifier, is_sepa_text, to_sepa_text
from sepa.errors import SepaValidationError


@pytest.mark.parametrize(("text", "expected"), [
    ("é", "e"), ("É", "E"), ("è", "e"), ("ê", "e"), ("ë", "e"), ("à", "a"), ("ç", "c"),
    ("Ç", "C"), ("ñ", "n"), ("ü", "u"), ("Ü", "U"), ("ö", "o"), ("å", "a"), ("ž", "z"),
    ("ß", "ss"), ("ẞ", "SS"), ("ø", "o"), ("Ø", "O"), ("æ", "ae"), ("Æ", "AE"),
    ("œ", "oe"), ("Œ", "OE"), ("ł", "l"), ("Ł", "L"), ("đ", "d"), ("Đ", "D"),
    ("þ", "th"), ("Þ", "TH"), ("ð", "d"), ("ı", "i"), ("ﬁ", "fi"), ("½", "1.2"),
    ("&", "+"), ("€", "EUR"), ("@", "(at)"), ("’", "'"), ("“x”", "'x'"), ("«x»", "'x'"),
    ("–", "-"), ("—", "-"), ("_", "-"), ("[x]", "(x)"), (";", ","), ("\\", "/"),
    ("Иван", "...."), ("漢字", ".."), ("\u00a0", ""), ("a\tb\nc", "a b c"),
])
def test_transliteration_table(text, expected):
    assert to_sepa_text(text, 70) == expected


def test_transliterates_full_names():
    assert to_sepa_text("Émilie Groß-Øster & Æsir Łódź", 70) == "Emilie Gross-Oster + AEsir Lodz"
    assert to_sepa_text("François Lefèvre", 70) == "Francois Lefevre"
    assert to_sepa_text("Zoë O’Brien", 70) == "Zoe O'Brien"


def test_sepa_text_is_kept_unchanged():
    text = "Vereniging ABC/123 - (test) ?:.,'+"
    assert to_sepa_text(text, 70) == text


def test_length_is_cut_after_transliteration():
    assert to_sepa_text("ß" * 40, 70) == "ss" * 35
    assert to_sepa_text("x" * 200, 140) == "x" * 140
    assert len(to_sepa_text("é" * 100, 70)) == 70


def test_spaces_are_collapsed_and_stripped_also_at_the_cut():
    assert to_sepa_text("  a   b  ", 70) == "a b"
    assert to_sepa_text("abc def", 4) == "abc"


def test_none_and_non_strings():
    assert to_sepa_text(None, 70) == ""
    assert to_sepa_text(12345, 3) == "123"


def test_max_len_must_be_positive():
    with pytest.raises(ValueError):
        to_sepa_text("x", 0)


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_output_is_always_sepa_text_within_the_limit(text, max_len):
    result = to_sepa_text(text, max_len)
    assert is_sepa_text(result)
    assert set(result) <= SEPA_CHARS
    assert len(result) <= max_len
    assert result == result.strip()
    assert "  " not in result


@given(st.text(alphabet=sorted(SEPA_CHARS - {" "}), min_size=1, max_size=70))
def test_sepa_words_survive(text):
    assert to_sepa_text(text, 70) == text


@pytest.mark.parametrize("value", [
    "A", "MSG-2025-0001", "a/b", "(x) ?:.,'+", "A B", "x" * 35, "E2E/2025/1",
])
def test_valid_identifiers_are_returned_unchanged(value):
    assert check_identifier(value, "EndToEndId") is value


@pytest.mark.parametrize(("value", "reason"), [
    ("", "is empty"),
    ("x" * 36, "36 characters long (maximum 35)"),
    ("Mandat-é", "outside the SEPA set: 'é'"),
    ("A&B", "outside the SEPA set: '&'"),
    ("A_B", "outside the SEPA set: '_'"),
    ("/ABC", "starts or ends with '/'"),
    ("ABC/", "starts or ends with '/'"),
    ("AB//C", "contains '//'"),
    (" AB", "starts or ends with a space"),
    ("AB ", "starts or ends with a space"),
    (None, "must be a string"),
    (123, "must be a string"),
])
def test_invalid_identifiers_raise_naming_field_and_value(value, reason):
    with pytest.raises(SepaValidationError) as info:
        check_identifier(value, "MndtId")
    message = str(info.value)
    assert message.startswith("MndtId")
    assert repr(value) in message
    assert reason in message
    assert info.value.field == "MndtId"
    assert info.value.value == value


def test_identifier_max_len_is_configurable():
    assert check_identifier("x" * 70, "InitgPty Id", max_len=70)
    with pytest.raises(SepaValidationError, match="maximum 10"):
        check_identifier("x" * 11, "Id", max_len=10)


_ID_ALPHABET = sorted(SEPA_CHARS)


@given(st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=35))
def test_identifier_rule_matches_its_definition(value):
    expected = (value == value.strip() and not value.startswith("/")
                and not value.endswith("/") and "//" not in value)
    try:
        assert check_identifier(value, "Id") == value
        valid = True
    except SepaValidationError:
        valid = False
    assert valid == expected
