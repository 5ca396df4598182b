"""Typed records produced by the R-transaction readers.

Every record is a frozen dataclass with ``Decimal`` amounts and ``datetime.date`` dates.
``to_json_dict()`` gives the plain JSON form used by ``python -m sepa read``: amounts are
strings with two decimals, dates ISO strings, ``None`` where a value is absent.
"""

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

#: R-transactions of our own direct debits (the debit failed or was paid back).
STORNO_KINDS = ("reject", "return", "refund", "reversal")
#: Every kind a record can have. ``credit``: a credit entry that may settle a batch of our
#: direct debits. ``other``: related to direct debits or returns but never a storno (a debit
#: collected from us, a returned credit transfer, a non-reject pain.002 status).
KINDS = STORNO_KINDS + ("credit", "other")
#: ``tx``: one transaction; ``entry``: a whole camt entry; ``group`` / ``pmtinf``: a pain.002
#: status that applies to every transaction of the original message / payment information.
LEVELS = ("tx", "entry", "group", "pmtinf")

CENT = Decimal("0.01")


def format_amount(value):
    """Return ``value`` as a string with two decimals (more only if it has more), or None."""
    if value is None:
        return None
    rounded = value.quantize(CENT)
    return str(rounded if rounded == value else value.normalize())


def _json_value(value):
    """Convert one field value to its JSON form."""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class RTransaction:
    """One item read from a camt.053 / camt.054 / pain.002 message.

    ``end_to_end_id``, ``msg_id``, ``pmt_inf_id`` and ``mandate_id`` are the ORIGINAL
    identifiers of our collection (as we wrote them in the pain.008); ``creditor_id`` is the
    creditor identifier the bank gives for it (camt ``RltdPties/Cdtr``), when it does.
    ``amount`` is the transaction amount (the entry amount for entry-level items);
    ``charges`` are the bank charges reported for it, not included in ``amount``.
    ``entry_*`` fields, ``reversal``, ``bank_tx_code`` and ``acct_svcr_ref`` describe the
    camt entry the item belongs to.
    """

    kind: str
    level: str
    status: str | None = None
    end_to_end_id: str | None = None
    msg_id: str | None = None
    pmt_inf_id: str | None = None
    instr_id: str | None = None
    mandate_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    booking_date: date | None = None
    value_date: date | None = None
    collection_date: date | None = None
    seq_tp: str | None = None
    reason_code: str | None = None
    reason_proprietary: bool = False
    return_type: str | None = None
    additional_info: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    creditor_id: str | None = None
    charges: Decimal | None = None
    acct_svcr_ref: str | None = None
    tx_acct_svcr_ref: str | None = None
    ntry_ref: str | None = None
    nb_of_txs: int | None = None
    bank_tx_code: str | None = None
    bank_tx_code_prtry: str | None = None
    entry_amount: Decimal | None = None
    entry_cdt_dbt: str | None = None
    reversal: bool | None = None
    end_to_end_ids: tuple = ()
    tx_amounts: tuple = ()
    pmt_inf_id_in_addtl_info: str | None = None
    applies_to: str | None = None

    @property
    def is_storno(self):
        """True for a reject, return, refund or reversal of one of our direct debits."""
        return self.kind in STORNO_KINDS

    def to_json_dict(self):
        """Return the record as a JSON-ready dict (keys as in EXPECTED.json)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class PaymentInfoStatus:
    """pain.002 status of one original payment information block (OrgnlPmtInfAndSts)."""

    pmt_inf_id: str | None
    status: str | None = None
    reason_code: str | None = None
    additional_info: str | None = None
    nb_of_tx_statuses: int = 0

    def to_json_dict(self):
        """Return the block as a JSON-ready dict."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Everything read from one message.

    ``message`` is the message name taken from the namespace, e.g. ``camt.054.001.04`` or
    ``pain.002.001.03.ch.02``. The ``original_*``, ``group_*`` and ``payment_infos`` fields
    are filled for pain.002 only. ``accounts`` (camt only): the account (``Acct/Id``: the
    IBAN, else its other id; None when absent) of each statement, notification or report
    whose entries gave ``transactions``, in the file's order, each once.
    """

    message: str
    transactions: list = field(default_factory=list)
    report_msg_id: str | None = None
    original_msg_id: str | None = None
    original_msg_name: str | None = None
    group_status: str | None = None
    group_reason_code: str | None = None
    payment_infos: tuple = ()
    accounts: tuple = ()

    @property
    def stornos(self):
        """The records that are R-transactions of our direct debits."""
        return [tx for tx in self.transactions if tx.is_storno]

    @property
    def credits(self):
        """The credit entries that may settle a batch."""
        return [tx for tx in self.transactions if tx.kind == "credit"]

    def to_json_dict(self):
        """Return ``{"message": ..., "transactions": [...]}`` plus pain.002 header keys."""
        data = {"message": self.message, "report_msg_id": self.report_msg_id}
        if self.message.startswith("pain.002"):
            data.update(
                original_msg_id=self.original_msg_id,
                original_msg_name=self.original_msg_name,
                group_status=self.group_status,
                group_reason_code=self.group_reason_code,
                payment_infos=[info.to_json_dict() for info in self.payment_infos],
            )
        else:
            data["accounts"] = list(self.accounts)
        data["transactions"] = [tx.to_json_dict() for tx in self.transactions]
        return data
