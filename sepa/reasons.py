"""Catalogue of ISO 20022 external status reason codes used in SEPA Direct Debit R-transactions.

Each :class:`ReasonCode` says what the code means and how the addon reacts by default:

* ``points``: storno points added to the mandate's score. ``None`` (:data:`REVOKE_AT_ONCE`)
  means "the company's threshold", i.e. the mandate is revoked at once; use
  :func:`points_for` to turn it into a number for a given threshold.
* ``retry_makes_sense``: putting the invoice into a next batch can succeed without the
  customer doing anything (insufficient funds, a technical error on the banks' side).
* ``needs_new_account``: collecting again cannot succeed until the customer gives a new
  account or a new mandate (account closed, wrong or blocked; no mandate; debtor deceased;
  refused by the debtor). Such a failed debit is never retried on the same account.
* ``invalidates_account``: the debtor's account itself is no longer valid (closed, or
  not an account at all): the mandate is not collected until its IBAN changes.
* ``revoke_mandate``: revoke the mandate at once (account closed, no mandate, deceased...).
* ``keeps_first``: a reject of a FRST debit before settlement leaves the mandate at FRST
  (true for every code except duplicates, where an earlier identical debit went through).
* ``kinds``: the R-transaction kinds the code is used with (EPC guidance on SDD reason codes).

Labels follow the ISO names and the EPC rulebook wording. :data:`CATALOGUE` holds the
defaults the Odoo side ships as its reason-code data; companies may change the points.
"""

from dataclasses import dataclass

#: Categories a reason belongs to.
CATEGORIES = ("account", "mandate", "amount", "debtor", "technical", "other")
#: ``points`` value meaning "revoke at once" (the company's threshold is reached).
REVOKE_AT_ONCE = None
#: Points of a code that is not in the catalogue (proprietary or unknown).
UNKNOWN_POINTS = 1


@dataclass(frozen=True)
class ReasonCode:
    """One reason code and its default behaviour (see the module docstring)."""

    code: str
    label: str
    category: str
    points: int | None
    retry_makes_sense: bool
    needs_new_account: bool = False
    invalidates_account: bool = False
    revoke_mandate: bool = False
    keeps_first: bool = True
    kinds: tuple = ("reject", "return")
    known: bool = True


#: Codes whose reject does not keep a FRST mandate at FRST (an identical debit went through).
_NOT_KEEPING_FIRST = frozenset({"AM05", "DUPL"})
#: Codes a retry cannot succeed on until the customer gives a new account or mandate.
_NEEDS_NEW_ACCOUNT = frozenset({"AC01", "AC04", "AC06", "MD01", "MD07", "MS02"})
#: Codes saying the debtor's account is no longer valid (closed, or no account at all).
_INVALIDATES_ACCOUNT = frozenset({"AC01", "AC04"})
#: R-transaction kinds per code when not the default ``("reject", "return")``.
_KINDS = {
    "AG02": ("reject",),
    "AM05": ("reject", "return", "reversal"),
    "AM10": ("reject",),
    "CNOR": ("reject",),
    "DNOR": ("reject",),
    "DT01": ("reject",),
    "ED05": ("reject",),
    "FF01": ("reject",),
    "FF05": ("reject",),
    "FOCR": ("return",),
    "MD01": ("reject", "return", "refund"),
    "MD06": ("refund",),
    "MS02": ("reject", "return", "reversal"),
}
_REVOKE = REVOKE_AT_ONCE

# fmt: off
#  code    category     points   retry  label
_ROWS = (
    ("AC01", "account",   2,       False, "Account identifier incorrect (invalid IBAN)"),
    ("AC04", "account",   _REVOKE, False, "Account closed"),
    ("AC06", "account",   _REVOKE, False, "Account blocked, or blocked for direct debits"),
    ("AC13", "account",   2,       False, "Debtor account is a consumer account (B2B)"),
    ("AG01", "account",   2,       False, "Transaction forbidden: no direct debits on account"),
    ("DNOR", "account",   0,       False, "Debtor bank not registered under this BIC in the CSM"),
    ("RC01", "account",   0,       True,  "Bank identifier incorrect (invalid BIC)"),
    ("MD01", "mandate",   _REVOKE, False, "No mandate, or unauthorised transaction"),
    ("MD02", "mandate",   1,       False, "Missing mandatory information in mandate"),
    ("AM04", "amount",    1,       True,  "Insufficient funds"),
    ("MD06", "debtor",    2,       False, "Refund request by end customer (disputed debit)"),
    ("MD07", "debtor",    _REVOKE, False, "End customer deceased"),
    ("MS02", "debtor",    2,       False, "Not specified reason, customer generated (refusal)"),
    ("RR01", "debtor",    0,       False, "Missing debtor account or identification"),
    ("RR02", "debtor",    0,       False, "Missing debtor name or address"),
    ("SL01", "debtor",    2,       False, "Specific service of the debtor bank (creditor blocked)"),
    ("AG02", "technical", 0,       True,  "Invalid bank operation code"),
    ("AM05", "technical", 0,       False, "Duplication (duplicate collection)"),
    ("AM10", "technical", 0,       True,  "Invalid control sum"),
    ("BE05", "technical", 0,       True,  "Unrecognised initiating party (creditor identifier)"),
    ("CNOR", "technical", 0,       True,  "Creditor bank not registered under this BIC in the CSM"),
    ("CURR", "technical", 0,       True,  "Incorrect currency"),
    ("DT01", "technical", 0,       True,  "Invalid date"),
    ("DUPL", "technical", 0,       False, "Duplicate payment"),
    ("ED05", "technical", 0,       True,  "Settlement failed"),
    ("FF01", "technical", 0,       True,  "Invalid file format"),
    ("FF05", "technical", 0,       True,  "Invalid local instrument code (direct debit type)"),
    ("RR03", "technical", 0,       True,  "Missing creditor name or address"),
    ("TECH", "technical", 0,       True,  "Technical problem"),
    ("FOCR", "other",     0,       False, "Return following a cancellation request"),
    ("FRAD", "other",     _REVOKE, False, "Fraudulent origin"),
    ("MS03", "other",     1,       True,  "Not specified reason, agent generated"),
    ("NARR", "other",     1,       True,  "Narrative: the reason is given as free text"),
    ("RR04", "other",     0,       False, "Regulatory reason"),
)
# fmt: on


def _entry(code, category, points, retry, label):
    """Build the ReasonCode of one table row."""
    return ReasonCode(
        code=code,
        label=label,
        category=category,
        points=points,
        retry_makes_sense=retry,
        needs_new_account=code in _NEEDS_NEW_ACCOUNT,
        invalidates_account=code in _INVALIDATES_ACCOUNT,
        revoke_mandate=points is REVOKE_AT_ONCE,
        keeps_first=code not in _NOT_KEEPING_FIRST,
        kinds=_KINDS.get(code, ("reject", "return")),
    )


#: code -> ReasonCode, for every code in the catalogue.
CATALOGUE = {row[0]: _entry(*row) for row in _ROWS}


def get_reason(code):
    """Return the ReasonCode of ``code``; an "unknown/proprietary" entry if not catalogued."""
    normalized = (code or "").strip().upper()
    entry = CATALOGUE.get(normalized)
    if entry is not None:
        return entry
    return ReasonCode(
        code=(code or "").strip(),
        label="Unknown or proprietary reason",
        category="other",
        points=UNKNOWN_POINTS,
        retry_makes_sense=True,
        kinds=(),
        known=False,
    )


def points_for(code, threshold):
    """Return the storno points of ``code``, ``threshold`` for revoke-at-once codes."""
    points = get_reason(code).points
    return threshold if points is REVOKE_AT_ONCE else points
