"""Catalogue of ISO 20022 external status reason codes used in SEPA Direct Debit R-transactions.

Each :class:`ReasonCode` says what the code means and how the addon reacts by default:

* ``points``: storno points added to the mandate's score. ``None`` (:data:`REVOKE_AT_ONCE`)
  means "the company's threshold", i.e. the mandate is revoked at once; use
  :func:`points_for` to turn it into a number for a given threshold.
* ``retry_makes_sense``: putting the invoice into a next batch can succeed without the
  customer doing anything (insufficient funds, a technical error on the banks' side).
* ``represent_automatically``: the debit failed for want of money (AM04 insufficient
  funds, MS03 the bank's unspecified reason, in practice the same): a company that
  re-presents failed debits automatically collects it again after payday. Only those:
  re-presenting any other failure (a refusal, a refund, a closed account) without the
  customer's word is what the schemes' rules and the customers resent.
* ``needs_new_account``: collecting again cannot succeed until the customer gives a new
  account or a new mandate (account closed, wrong or blocked; no mandate; debtor deceased;
  refused by the debtor). Such a failed debit is never retried on the same account.
* ``invalidates_account``: the debtor's account itself is no longer valid (closed, or
  not an account at all): the mandate is not collected until its IBAN changes.
* ``revoke_mandate``: revoke the mandate at once (account closed, no mandate, deceased...).
* ``keeps_first``: a reject of a FRST debit before settlement leaves the mandate at FRST
  (true for every code except duplicates, where an earlier identical debit went through).
* ``duplicate``: the bank refused a message, block or debit it received before: the
  earlier one stands (a reject of a second upload of a file does not undo the batch).
* ``fault``: whose failure it is (EPC guidance on SDD R-transactions): the ``debtor``'s
  (no funds, account closed, no mandate, refusal, refund...), the ``creditor``'s (file
  format, duplicates, creditor identifier, data the creditor sent) or the ``bank``'s (a
  bank not reachable, a technical or settlement failure). Only a debtor's failure brings
  a bank charge, a fee re-invoiced to the customer and storno points; the catalogue's
  points of the others are 0.
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
#: Whose failure a code is; a code not in the catalogue counts as the debtor's.
FAULTS = ("debtor", "creditor", "bank")


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
    fault: str = "debtor"
    duplicate: bool = False
    represent_automatically: bool = False


#: Duplicates: the bank had the message, block or debit already (it went through); their
#: reject does not keep a FRST mandate at FRST.
_DUPLICATES = frozenset({"AM05", "DUPL", "DU01", "DU02", "DU04"})
#: Codes a retry cannot succeed on until the customer gives a new account or mandate.
_NEEDS_NEW_ACCOUNT = frozenset({"AC01", "AC04", "AC06", "MD01", "MD07", "MS02"})
#: Codes saying the debtor's account is no longer valid (closed, or no account at all).
_INVALIDATES_ACCOUNT = frozenset({"AC01", "AC04"})
#: Codes of a debit that failed for want of money: re-presented after payday (policy).
_REPRESENT = frozenset({"AM04", "MS03"})
#: R-transaction kinds per code when not the default ``("reject", "return")``.
_KINDS = {
    "AG02": ("reject",),
    "AM05": ("reject", "return", "reversal"),
    "AM10": ("reject",),
    "CNOR": ("reject",),
    "DNOR": ("reject",),
    "DT01": ("reject",),
    "DU01": ("reject",),
    "DU02": ("reject",),
    "DU04": ("reject",),
    "ED05": ("reject",),
    "FF01": ("reject",),
    "FF02": ("reject",),
    "FF05": ("reject",),
    "FOCR": ("return",),
    "MD01": ("reject", "return", "refund"),
    "MD06": ("refund",),
    "MS02": ("reject", "return", "reversal"),
}
_R = REVOKE_AT_ONCE  # revoke at once
_D, _C, _B = FAULTS  # the debtor's, the creditor's, the bank's

# fmt: off
#  code    category     points retry  fault  label
_ROWS = (
    ("AC01", "account",   2,  False, _D, "Account identifier incorrect (invalid IBAN)"),
    ("AC04", "account",   _R, False, _D, "Account closed"),
    ("AC06", "account",   _R, False, _D, "Account blocked, or blocked for direct debits"),
    ("AC13", "account",   2,  False, _D, "Debtor account is a consumer account (B2B)"),
    ("AG01", "account",   2,  False, _D, "Transaction forbidden: no direct debits on account"),
    ("DNOR", "account",   0,  False, _B, "Debtor bank not registered under this BIC in the CSM"),
    ("RC01", "account",   0,  True,  _C, "Bank identifier incorrect (invalid BIC)"),
    ("MD01", "mandate",   _R, False, _D, "No mandate, or unauthorised transaction"),
    ("MD02", "mandate",   0,  False, _C, "Missing mandatory information in mandate"),
    ("AM04", "amount",    1,  True,  _D, "Insufficient funds"),
    ("MD06", "debtor",    2,  False, _D, "Refund request by end customer (disputed debit)"),
    ("MD07", "debtor",    _R, False, _D, "End customer deceased"),
    ("MS02", "debtor",    2,  False, _D, "Not specified reason, customer generated (refusal)"),
    ("RR01", "debtor",    0,  False, _C, "Missing debtor account or identification"),
    ("RR02", "debtor",    0,  False, _C, "Missing debtor name or address"),
    ("SL01", "debtor",    2,  False, _D, "Specific service of the debtor bank (creditor blocked)"),
    ("AG02", "technical", 0,  True,  _C, "Invalid bank operation code"),
    ("AM05", "technical", 0,  False, _C, "Duplication (duplicate collection)"),
    ("AM10", "technical", 0,  True,  _C, "Invalid control sum"),
    ("BE05", "technical", 0,  True,  _C, "Unrecognised initiating party (creditor identifier)"),
    ("CNOR", "technical", 0,  True,  _B, "Creditor bank not registered under this BIC in the CSM"),
    ("CURR", "technical", 0,  True,  _C, "Incorrect currency"),
    ("DT01", "technical", 0,  True,  _C, "Invalid date"),
    ("DU01", "technical", 0,  False, _C, "Duplicate message identification (file sent twice)"),
    ("DU02", "technical", 0,  False, _C, "Duplicate payment information block"),
    ("DU04", "technical", 0,  False, _C, "Duplicate end-to-end identification"),
    ("DUPL", "technical", 0,  False, _C, "Duplicate payment"),
    ("ED05", "technical", 0,  True,  _B, "Settlement failed"),
    ("FF01", "technical", 0,  True,  _C, "Invalid file format"),
    ("FF02", "technical", 0,  True,  _C, "Syntax error in the file"),
    ("FF05", "technical", 0,  True,  _C, "Invalid local instrument code (direct debit type)"),
    ("RR03", "technical", 0,  True,  _C, "Missing creditor name or address"),
    ("TECH", "technical", 0,  True,  _B, "Technical problem"),
    ("FOCR", "other",     0,  False, _C, "Return following a cancellation request"),
    ("FRAD", "other",     _R, False, _D, "Fraudulent origin"),
    ("MS03", "other",     1,  True,  _D, "Not specified reason, agent generated"),
    ("NARR", "other",     1,  True,  _D, "Narrative: the reason is given as free text"),
    ("RR04", "other",     0,  False, _B, "Regulatory reason"),
)
# fmt: on


def _entry(code, category, points, retry, fault, label):
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
        keeps_first=code not in _DUPLICATES,
        kinds=_KINDS.get(code, ("reject", "return")),
        fault=fault,
        duplicate=code in _DUPLICATES,
        represent_automatically=code in _REPRESENT,
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


#: What a failed debit's reason means for the customer, in plain words (English; the
#: Odoo side ships them as the translatable ``sepa.return.reason.customer_message``,
#: Dutch in i18n). Only the debtor's codes: the others are never told to the customer.
#: A debtor's code without a sentence gets a general one ("your bank did not collect").
CUSTOMER_MESSAGES = {
    "AC01": "The account number (IBAN) we have for you is not correct.",
    "AC04": "Your account is closed.",
    "AC06": "Your account is blocked, or blocked for direct debits.",
    "AC13": "Your account is a consumer account, which cannot be used for this business "
            "direct debit.",
    "AG01": "Your bank does not allow direct debits on your account.",
    "AM04": "There was not enough balance on your account.",
    "FRAD": "Your bank stopped the direct debit as possibly not authorised by you.",
    "MD01": "Your bank has no valid mandate from you for this direct debit.",
    "MD06": "You asked your bank to refund it.",
    "MD07": "Your bank told us that the account holder has passed away.",
    "MS02": "You refused the direct debit at your bank.",
    "MS03": "Your bank did not give a reason.",
    "NARR": "Your bank gave another reason.",
    "SL01": "Your bank blocks direct debits from us on your account.",
}
