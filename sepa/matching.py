"""Is a bank transaction the return of one of our direct debits? The rules shared by the
return file import and bank statement lines.

* :func:`mentions` and :func:`identifier_candidates`: an identifier named in a bank text as
  a whole word (``SDD-2027-00004-1`` is not named by ``SDD-2027-00004-17``);
* :func:`creditor_ids_in`: the creditor identifiers a bank gives for a debit (``/CSID/`` in
  a text, ``CdtrSchmeId`` or a creditor's SEPA scheme id in transaction details);
* :func:`bank_code_in` and :func:`bank_debit_category`: the bank transaction code of a
  bank debit ("PMNT-RDDT-ESDD"), classified as the camt reader classifies an entry
  (:func:`sepa.readers.camt.classify`: a direct debit collected FROM our account is
  never a storno);
* :func:`judge_return`: whether a bank transaction naming debits is their return, and
  why not.

End-to-end ids look alike in every creditor's files (``SDD-<year>-<batch>-<n>``), so
naming one of ours proves nothing on its own: another creditor's direct debit of our
account may carry the same text.
"""

import re
from decimal import Decimal

from .readers.camt import DD_OTHER, ISO_DOMAINS, STORNO, UNKNOWN, classify

#: Why a bank transaction naming our debits is not their return (see :func:`judge_return`).
NOT_A_RETURN = "bank_code"  # its bank transaction code says something else
OTHER_CREDITOR = "creditor"  # its creditor identifier is not ours
LESS_THAN_DEBIT = "less"  # the bank took less than the debits
CHARGE_ABOVE_MAX = "charge"  # the bank took more than the debits plus a plausible charge
#: Categories of a bank debit that may be a return of ours (no code: the texts decide).
MAY_BE_RETURN = frozenset({STORNO, UNKNOWN, None})

#: Runs of characters of SEPA identifiers (without the space).
_ID_RUN = re.compile(r"[0-9A-Za-z/\-?:().,'+]+")
#: Parts of an identifier between the characters that end a whole word.
_WORD = re.compile(r"[0-9A-Za-z-]+")
MAX_ID_LEN = 35
#: Creditor identifiers in bank texts: ``/CSID/NL08ZZZ502057730000/`` (structured
#: statement texts) and ``CRED+DE98ZZZ09999999999`` (German SEPA texts).
_CREDITOR_IN_TEXT = re.compile(
    r"(?:/CSID/|\bCRED\+)([A-Za-z]{2}[0-9]{2}[0-9A-Za-z]{4,31})(?![0-9A-Za-z])")
_CREDITOR_ID = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")
#: Reversal indicator as OCA's camt import writes it in the notes.
_REVERSAL_IN_TEXT = re.compile(r"RvslInd\)?\s*:\s*(true|1)\b", re.IGNORECASE)
_CODE_SEPARATORS = re.compile(r"[\s/.\-]+")


def mentions(text, identifier):
    """Whether ``text`` holds ``identifier`` as a whole word: not preceded or followed by
    a letter, a digit or a hyphen (which continue an identifier), case ignored. An empty
    identifier is mentioned nowhere."""
    if not text or not identifier:
        return False
    return re.search(
        rf"(?<![0-9A-Za-z-]){re.escape(identifier)}(?![0-9A-Za-z-])", text, re.IGNORECASE,
    ) is not None


def identifier_candidates(text):
    """Every piece of ``text`` that could be an identifier mentioned as a whole word (see
    :func:`mentions`): runs of identifier characters cut where a word ends, at most 35
    characters, as written and upper-cased."""
    found = set()
    for run in _ID_RUN.finditer(text or ""):
        token = run.group()
        parts = [(match.start(), match.end()) for match in _WORD.finditer(token)]
        for index, (start, _end) in enumerate(parts):
            for _start, end in parts[index:]:
                if end - start > MAX_ID_LEN:
                    break
                found.add(token[start:end])
    return found | {candidate.upper() for candidate in found}


def compact_creditor_id(value):
    """``value`` without spaces, upper-cased, when it has the shape of a creditor
    identifier; else None."""
    if not isinstance(value, str):
        return None
    compact = "".join(value.split()).upper()
    return compact if _CREDITOR_ID.fullmatch(compact) else None


def same_creditor(first, second):
    """Whether two creditor identifiers name the same creditor: equal but for the
    creditor business code (characters 5 to 7), which the creditor chooses and which is
    no part of the identification (EPC262)."""
    first, second = compact_creditor_id(first), compact_creditor_id(second)
    return bool(first and second) and first[:4] + first[7:] == second[:4] + second[7:]


def creditor_ids_in(texts=(), details=None):
    """The creditor identifiers a bank gives for a transaction, in order, without
    repeats: ``/CSID/<id>/`` or ``CRED+<id>`` in ``texts``; in ``details`` (a bank's JSON
    transaction details) the value of a ``CdtrSchmeId`` key (text, or the identifier
    inside it) and the ``Id`` of an ``Othr`` whose ``SchmeNm/Prtry`` is "SEPA" under
    ``Cdtr`` (camt's ``RltdPties/Cdtr/Id/PrvtId/Othr``)."""
    found = []
    for text in texts:
        for match in _CREDITOR_IN_TEXT.finditer(text or ""):
            found.append(match.group(1).upper())
    found += _json_creditor_ids(details, under_creditor=False)
    return tuple(dict.fromkeys(found))


def _json_creditor_ids(value, under_creditor):
    if isinstance(value, list):
        return [found for item in value for found in _json_creditor_ids(item, under_creditor)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        if key == "CdtrSchmeId":
            found += [compact for text in json_strings(item)
                      if (compact := compact_creditor_id(text))]
        elif key == "Othr" and under_creditor:
            for other in item if isinstance(item, list) else [item]:
                if isinstance(other, dict) and _scheme(other) == "SEPA":
                    compact = compact_creditor_id(other.get("Id"))
                    if compact:
                        found.append(compact)
        else:
            found += _json_creditor_ids(item, under_creditor or key == "Cdtr")
    return found


def _scheme(other):
    scheme = other.get("SchmeNm")
    return (scheme.get("Prtry") or scheme.get("Cd")) if isinstance(scheme, dict) else scheme


def json_strings(value):
    """Every text value of a JSON document (a bank's transaction details)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def bank_code_in(transaction_type=None, details=None):
    """The ISO bank transaction code ``(domain, family, sub-family)`` of a transaction:
    from its type as statement imports write it ("PMNT-RDDT-ESDD", "PMNT/IDDT/UPDD"),
    else from ``BkTxCd/Domn`` in its JSON details. None when neither gives an ISO domain
    with a family (a proprietary or incomplete code decides nothing)."""
    if transaction_type:
        parts = [part.upper() for part in _CODE_SEPARATORS.split(transaction_type.strip())
                 if part]
        if len(parts) >= 2 and parts[0] in ISO_DOMAINS and len(parts) <= 3:
            return tuple(parts + [None] * (3 - len(parts)))
    domain = _json_value(details, "BkTxCd")
    domain = domain.get("Domn") if isinstance(domain, dict) else None
    if isinstance(domain, dict):
        family = domain.get("Fmly") if isinstance(domain.get("Fmly"), dict) else {}
        code = (domain.get("Cd"), family.get("Cd"), family.get("SubFmlyCd"))
        if code[0] in ISO_DOMAINS and code[1]:
            return code
    return None


def reversal_in(texts=(), details=None):
    """Whether the bank marks the transaction as a reversal (``RvslInd`` true in its
    details, or in the notes as OCA's camt import writes it)."""
    value = _json_value(details, "RvslInd")
    if value is not None:
        return value is True or str(value).strip().lower() in ("true", "1")
    return any(_REVERSAL_IN_TEXT.search(text or "") for text in texts)


def _json_value(value, key):
    """The first value under ``key`` anywhere in a JSON document, or None."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _json_value(item, key)
        if found is not None:
            return found
    return None


def bank_debit_category(code, reversal=False):
    """The camt category (:func:`sepa.readers.camt.classify`) of a bank DEBIT with bank
    transaction ``code`` (``(domain, family, sub-family)`` or None: no code)."""
    if code is None:
        return None
    return classify(*code, "DBIT", reversal)


def judge_return(debit_amount, amount=None, *, charges=None, creditor_ids=(),
                 our_creditor_id=None, category=None, max_charge=None, registered=False):
    """Whether a bank transaction that names our debits (of ``debit_amount`` together)
    is their return. Returns ``(reason, excess)``: ``reason`` None when it is, else why
    not (``NOT_A_RETURN``, ``OTHER_CREDITOR``, ``LESS_THAN_DEBIT``, ``CHARGE_ABOVE_MAX``);
    ``excess`` what the bank took more than the debits (None: amount unknown).

    * ``category``: the camt category of its bank transaction code (None: no code); only a
      storno, or a code that is no ISO code, may be a return;
    * ``creditor_ids``: the creditor identifiers the bank gives for it; when it gives any,
      one must be ours (``our_creditor_id``: one identifier or several, a company
      collecting under more than one; compared by :func:`same_creditor`);
    * ``amount``: what the bank took (Decimal); at least the debits, and at most the
      debits plus ``max_charge`` (None: no limit) or plus the ``charges`` the bank states.

    ``registered``: the debits failed already (a return file); the transaction is the
    bank's debit of what their stornos left open (the caller checks it is that amount to
    the cent: the return, or a charge booked apart), so its amount and a code other than
    a direct debit's decide nothing; a debit collected from our account or another
    creditor's identifier still refute it.
    """
    if category == DD_OTHER or category not in MAY_BE_RETURN and not registered:
        return NOT_A_RETURN, None
    ours = (our_creditor_id,) if isinstance(our_creditor_id, str) else (
        tuple(our_creditor_id or ()))
    ours = tuple(creditor_id for creditor_id in ours if creditor_id)
    if creditor_ids and ours and not any(
            same_creditor(creditor_id, our_id)
            for creditor_id in creditor_ids for our_id in ours):
        return OTHER_CREDITOR, None
    if amount is None or registered:
        return None, None
    excess = amount - debit_amount
    if excess < 0:
        return LESS_THAN_DEBIT, excess
    if max_charge is not None and excess > max_charge and excess != (charges or Decimal(0)):
        return CHARGE_ABOVE_MAX, excess
    return None, excess


__all__ = [
    "CHARGE_ABOVE_MAX", "LESS_THAN_DEBIT", "NOT_A_RETURN", "OTHER_CREDITOR",
    "bank_code_in", "bank_debit_category", "compact_creditor_id", "creditor_ids_in",
    "identifier_candidates", "json_strings", "judge_return", "mentions", "reversal_in",
    "same_creditor",
]
