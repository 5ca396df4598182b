"""Account and party identifiers: IBAN, BIC, creditor identifier, message ids.

IBAN and BIC checks use ``schwifty``; the SEPA creditor identifier uses
``stdnum.eu.at_02``. Every check raises :class:`SepaValidationError` naming the value
and the reason. The id builders are deterministic: the same input always gives the
same identifier, so a regenerated file carries the same ids.
"""

import functools
import hashlib
import re

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import at_02
from stdnum.exceptions import ValidationError

from .charset import check_identifier
from .errors import SepaValidationError

#: Countries of the European Economic Area (EU, Iceland, Liechtenstein, Norway) plus the
#: EU territories with their own IBAN country code (Aland, the French outermost regions).
EEA_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK "
    "IS LI NO AX GF GP MF MQ RE YT".split()
)

#: SEPA scheme countries and territories outside the EEA (EPC list of the geographical
#: scope of the SEPA schemes, EPC409-09). For them the debtor's BIC and address are
#: mandatory in a collection. Countries joining later can be added here.
NON_EEA_SEPA_COUNTRIES = frozenset(
    "AD CH GB GG GI IM JE MC SM VA BL PM".split()
)

#: IBAN country codes inside the geographical scope of the SEPA schemes.
SEPA_COUNTRIES = EEA_COUNTRIES | NON_EEA_SEPA_COUNTRIES

MAX_ID_LEN = 35

_CREDITOR_ID = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")


def normalize_iban(value):
    """Return ``value`` without spaces and in upper case (no check made)."""
    if not isinstance(value, str):
        raise SepaValidationError(f"IBAN {value!r} must be a string", field="IBAN", value=value)
    return "".join(value.split()).upper()


def mask_account(value):
    """Return an account number with its middle hidden, for messages: ``NL91 **** ****
    4300`` (the country and check digits and the last four characters shown)."""
    compact = "".join((value or "").split()).upper()
    if len(compact) <= 8:
        return "*" * max(len(compact) - 4, 0) + compact[-4:]
    return f"{compact[:4]} **** **** {compact[-4:]}"


def validate_iban(value, field="IBAN"):
    """Return the normalized IBAN, or raise :class:`SepaValidationError` saying why not.

    Checks what schwifty checks: characters, the country's length and BBAN structure, and
    the ISO 7064 MOD 97-10 check digits. A fast path uses schwifty's per-country rules
    directly (writing 100,000 debits validates 100,000 IBANs); anything it does not accept
    goes through ``schwifty.IBAN`` itself, which gives the reason.
    """
    compact = normalize_iban(value)
    if not compact:
        raise SepaValidationError(f"{field} is empty", field=field, value=value)
    if _quick_iban_check(compact):
        return compact
    try:
        return IBAN(compact).compact
    except SchwiftyException as exc:
        raise SepaValidationError(
            f"{field} {value!r} is invalid: {_reason(exc)}", field=field, value=value
        ) from exc


#: Digits of each character in the ISO 7064 MOD 97-10 computation (A=10 ... Z=35).
_IBAN_DIGITS = {ord(c): str(int(c, 36)) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _quick_iban_check(iban):
    """Return True when ``iban`` passes schwifty's checks, computed without an IBAN object.

    The country's rules (length, BBAN format) come from schwifty's registry. False means
    "not sure": the caller then asks schwifty.
    """
    rule = _country_rule(iban[:2])
    if rule is None:
        return False
    length, pattern, country_digits = rule
    if len(iban) != length or pattern.fullmatch(iban) is None:
        return False
    if not "02" <= iban[2:4] <= "98":
        return False
    bban = iban[4:]
    if not bban.isdigit():
        bban = bban.translate(_IBAN_DIGITS)
    return int(bban + country_digits + iban[2:4]) % 97 == 1


@functools.cache
def _country_rule(country):
    """Return (IBAN length, pattern of the whole IBAN, country code as digits), or None.

    The length and the BBAN format come from schwifty's registry.
    """
    try:
        spec = IBAN(country + "00", allow_invalid=True).spec
        length = _spec_item(spec, "iban_length")
        bban = _spec_item(spec, "regex").pattern
    except (SchwiftyException, AttributeError, KeyError, TypeError):
        return None
    if not isinstance(length, int) or not isinstance(bban, str):
        return None
    bban = bban.removeprefix("^").removesuffix("$")
    pattern = re.compile(f"{country}[0-9]{{2}}(?:{bban})")
    return length, pattern, country.translate(_IBAN_DIGITS)


def _spec_item(spec, key):
    """Read ``key`` from a schwifty spec (an object in new versions, a dict in old ones)."""
    if isinstance(spec, dict):
        return spec[key]
    return getattr(spec, key)


def validate_sepa_iban(value, field="IBAN"):
    """Like :func:`validate_iban`, and also require a country of the SEPA schemes."""
    if (type(value) is str and value.isalnum() and value.isupper()
            and value[:2] in SEPA_COUNTRIES and _quick_iban_check(value)):
        return value
    iban = validate_iban(value, field)
    if iban[:2] not in SEPA_COUNTRIES:
        raise SepaValidationError(
            f"{field} {value!r} is not in a SEPA country ({iban[:2]})", field=field, value=value
        )
    return iban


def is_eea_iban(iban):
    """Return True when the (normalized) IBAN belongs to an EEA country."""
    return iban[:2] in EEA_COUNTRIES


def bic_from_iban(iban):
    """Return the BIC of the bank holding ``iban`` (schwifty's bank registry), or None.

    Never raises: an invalid IBAN or an unknown bank gives None.
    """
    try:
        bic = IBAN(normalize_iban(iban)).bic
    except (SchwiftyException, SepaValidationError):
        return None
    return str(bic) if bic else None


def same_bank(iban_a, iban_b, bic_a=None, bic_b=None):
    """Return True when the two IBANs are held by the same bank.

    Compares the country and the national bank code of the IBANs (schwifty's registry:
    4 letters in NL, 8 digits in DE, 3 in BE, 5 in FR, ...). Where an IBAN gives no bank
    code, the BICs are compared (institution and location, the branch left out):
    ``bic_a`` / ``bic_b`` when given, else the BIC schwifty's bank registry knows for the
    IBAN. False when neither tells.
    """
    bank_a, bank_b = _bank_code(iban_a), _bank_code(iban_b)
    if bank_a and bank_b:
        return bank_a == bank_b
    bic_a = bic_a or (iban_a and bic_from_iban(iban_a))
    bic_b = bic_b or (iban_b and bic_from_iban(iban_b))
    if not bic_a or not bic_b:
        return False
    return "".join(bic_a.split()).upper()[:8] == "".join(bic_b.split()).upper()[:8]


def _bank_code(iban):
    """``(country, bank code)`` of an IBAN, or None when it has none or is invalid."""
    try:
        parsed = IBAN(normalize_iban(iban))
    except (SchwiftyException, SepaValidationError):
        return None
    return (parsed.country_code, parsed.bank_code) if parsed.bank_code else None


def validate_bic(value, field="BIC"):
    """Return the BIC in upper case without spaces (8 or 11 characters) or raise.

    Checks the ISO 9362 structure and the country code; the bank need not be known.
    """
    if not isinstance(value, str):
        raise SepaValidationError(f"{field} {value!r} must be a string", field=field, value=value)
    compact = "".join(value.split()).upper()
    try:
        return _checked_bic(compact)
    except SchwiftyException as exc:
        raise SepaValidationError(
            f"{field} {value!r} is invalid: {_reason(exc)}", field=field, value=value
        ) from exc


@functools.lru_cache(maxsize=4096)
def _checked_bic(compact):
    """schwifty's check of a compact BIC (cached: a file holds few distinct BICs)."""
    return str(BIC(compact))


def validate_creditor_id(value, field="CdtrSchmeId"):
    """Return the compact SEPA creditor identifier, or raise naming the value and reason.

    Format (EPC262-08): ISO country code, 2 check digits (ISO 7064 MOD 97-10 over the
    national identifier followed by the country code), a 3-character creditor business
    code (``ZZZ`` when unused, not part of the check), then the national identifier of up
    to 28 characters; e.g. ``NL08ZZZ502057730000``. Spaces are removed and letters are
    upper-cased; nothing else is changed.
    """
    if not isinstance(value, str) or not value.strip():
        raise SepaValidationError(f"{field} {value!r} is empty", field=field, value=value)
    compact = "".join(value.split()).upper()
    if not _CREDITOR_ID.fullmatch(compact):
        raise SepaValidationError(
            f"{field} {value!r} is invalid: expected 2 letters, 2 check digits, a 3-character"
            " business code and the national identifier (e.g. NL08ZZZ502057730000)",
            field=field, value=value,
        )
    try:
        at_02.validate(compact)
    except ValidationError as exc:
        raise SepaValidationError(
            f"{field} {value!r} is invalid: the check digits do not match",
            field=field, value=value,
        ) from exc
    return compact


def _reason(exc):
    """Return a readable reason for a schwifty exception."""
    text = str(exc).strip()
    return text[0].lower() + text[1:] if text else type(exc).__name__


def join_id(base, suffix, field="Id"):
    """Return ``base-suffix`` as a valid SEPA identifier of at most 35 characters.

    When too long, ``base`` is shortened and an 8-character digest of the full base is
    inserted, so that different bases still give different ids. ``base`` must itself be
    a valid identifier (checked); the result is deterministic.
    """
    check_identifier(base, field)
    suffix = str(suffix)
    candidate = f"{base}-{suffix}"
    if len(candidate) > MAX_ID_LEN:
        digest = hashlib.sha1(base.encode()).hexdigest()[:8].upper()
        keep = MAX_ID_LEN - len(suffix) - len(digest) - 2
        if keep < 1:
            raise SepaValidationError(f"{field} suffix {suffix!r} is too long",
                                      field=field, value=suffix)
        head = base[:keep].rstrip(" /")
        candidate = f"{head}-{digest}-{suffix}" if head else f"{digest}-{suffix}"
    return check_identifier(candidate, field)


def end_to_end_id(batch_ref, line_no):
    """Return the EndToEndId of line ``line_no`` of batch ``batch_ref`` (e.g. ``B2025-7-12``)."""
    return join_id(batch_ref, int(line_no), "EndToEndId")


def pmt_inf_id(msg_id, n):
    """Return the PmtInfId of the ``n``-th payment block of message ``msg_id``."""
    return join_id(msg_id, f"P{int(n)}", "PmtInfId")
