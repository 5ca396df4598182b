"""The SEPA (EPC basic Latin) character set.

Free text (names, addresses, remittance information) is converted with
:func:`to_sepa_text`: accented letters are transliterated, other characters are
replaced by a safe character and the result is cut to the element's maximum length.

Identifiers (MsgId, PmtInfId, EndToEndId, MndtId, ...) are never changed: they are
checked with :func:`check_identifier`, which raises :class:`SepaValidationError`.
"""

import functools
import re
import unicodedata

from .errors import SepaValidationError

#: Characters of the EPC basic Latin character set (SEPA rulebooks, section 1.4).
SEPA_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "0123456789"
    "/-?:().,'+ "
)

#: Character replacing anything that cannot be transliterated.
REPLACEMENT = "."

#: Transliterations NFKD decomposition does not give (letters with a stroke,
#: ligatures, typographic punctuation, ...).
TRANSLITERATION = {
    "ß": "ss", "ẞ": "SS",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "TH",
    "ħ": "h", "Ħ": "H", "ʼ": "'",
    "ı": "i", "ĸ": "k", "ŋ": "n", "Ŋ": "N", "ſ": "s",
    "&": "+", "€": "EUR", "@": "(at)",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
    "\"": "'", "“": "'", "”": "'", "„": "'", "«": "'", "»": "'",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "_": "-",
    "\\": "/", "[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")",
    ";": ",", "!": ".", "*": ".", "#": " ", "|": "/", "~": "-", "=": "-",
    "\t": " ", "\n": " ", "\r": " ", "\u00a0": " ",
}

_SPACES = re.compile(r" {2,}")

#: Characters allowed in SEPA identifiers (same set as the free text).
IDENTIFIER_CHARS = SEPA_CHARS


def _char_to_sepa(char):
    """Return the SEPA replacement of one character (possibly several characters)."""
    if char in SEPA_CHARS:
        return char
    if char in TRANSLITERATION:
        return TRANSLITERATION[char]
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and all(c in SEPA_CHARS for c in base):
        return base
    if base and base != char:
        return "".join(_char_to_sepa(c) for c in base)
    return REPLACEMENT


#: Characters to convert (anything outside the SEPA set).
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/?:().,'+ -]")

#: Text :func:`transliterate` leaves as it is: SEPA words separated by single spaces.
_CLEAN = re.compile(r"[A-Za-z0-9/?:().,'+-]+(?: [A-Za-z0-9/?:().,'+-]+)*")


@functools.lru_cache(maxsize=4096)
def _convert_char(char):
    """Cached :func:`_char_to_sepa`."""
    return _char_to_sepa(char)


def _build_table():
    """Replacement of every Latin-script and common punctuation code point, for translate().

    Code points outside the table are converted one by one by :func:`transliterate`.
    """
    points = [*range(0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), 0x20AC]
    return {point: _char_to_sepa(chr(point)) for point in points}


_TABLE = _build_table()


def transliterate(value):
    """Return ``value`` converted to the SEPA character set, without any length limit.

    Runs of spaces are collapsed and the result is stripped.
    """
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if _CLEAN.fullmatch(text) is not None:
        return text
    text = text.translate(_TABLE)
    if _NOT_SEPA.search(text) is not None:
        for char in set(_NOT_SEPA.findall(text)):
            text = text.replace(char, _convert_char(char))
    if "  " in text or text[:1] == " " or text[-1:] == " ":
        text = _SPACES.sub(" ", text).strip()
    return text


def to_sepa_text(value, max_len):
    """Return ``value`` in the SEPA character set, cut to at most ``max_len`` characters.

    ``None`` gives ``""``. Accented letters lose their accents (é→e, ñ→n), letters
    without a decomposition use an explicit table (ß→ss, ø→o, æ→ae, Ł→L), typographic
    quotes and dashes become ``'`` and ``-``, ``&`` becomes ``+``; anything else becomes
    ``"."``. Spaces are collapsed and stripped before and after cutting.
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    if type(value) is str and _CLEAN.fullmatch(value) is not None:
        text = value
    else:
        text = transliterate(value)
    if len(text) > max_len:
        text = text[:max_len].rstrip()
    return text


def is_sepa_text(value):
    """Return True when every character of ``value`` is in the SEPA character set."""
    return all(c in SEPA_CHARS for c in value)


_ID_CHARS = re.compile(r"[A-Za-z0-9/?:().,'+ -]+")


def check_identifier(value, field, max_len=35):
    """Check a SEPA identifier (MsgId, PmtInfId, EndToEndId, MndtId) and return it unchanged.

    Rules (EPC implementation guidelines): 1 to ``max_len`` characters from
    ``A-Z a-z 0-9 / - ? : ( ) . , ' +`` and space; no leading or trailing space; it
    must not start or end with ``/`` nor contain ``//``.

    Raises :class:`SepaValidationError` naming ``field`` and the value otherwise.
    """
    if (type(value) is str and 0 < len(value) <= max_len and _ID_CHARS.fullmatch(value)
            and value[0] not in "/ " and value[-1] not in "/ " and "//" not in value):
        return value
    if not isinstance(value, str):
        raise _id_error(field, value, "must be a string")
    if not value:
        raise _id_error(field, value, "is empty")
    if len(value) > max_len:
        raise _id_error(field, value, f"is {len(value)} characters long (maximum {max_len})")
    bad = sorted({c for c in value if c not in IDENTIFIER_CHARS})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise _id_error(field, value, f"contains characters outside the SEPA set: {shown}")
    if value != value.strip():
        raise _id_error(field, value, "starts or ends with a space")
    if value.startswith("/") or value.endswith("/"):
        raise _id_error(field, value, "starts or ends with '/'")
    if "//" in value:
        raise _id_error(field, value, "contains '//'")
    raise _id_error(field, value, "is not a valid identifier")


def _id_error(field, value, reason):
    """Build the error raised by :func:`check_identifier`."""
    return SepaValidationError(f"{field} {value!r} {reason}", field=field, value=value)
