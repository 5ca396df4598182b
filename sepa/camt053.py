"""A camt.053.001.02 writer: the bank-to-customer statement a bank sends for a batch.

What a bank's statement shows once a direct debit batch was collected: the batch's credit
as ONE entry (``PMNT/IDDT/ESDD``, ``BBDD`` for B2B; the file's MsgId in the batch details
and in the transaction's additional information, the number of debits, the amount) and
each debit the bank took back as its own debit entry (``PMNT/IDDT/UPDD``: end-to-end id,
mandate, debtor and creditor with the creditor identifier, the remittance information
and the return reason code), between an opening and a closing balance of the account.

The addon's *Download a sample bank statement* (demo databases) writes one for a sent
batch, so that the monthly cycle can be finished without a bank; it is what the bank
would send, not a file to give to anyone. The document is checked by reading it back
with the toolkit's own reader in the tests (``tests/sepa/test_camt053_writer.py``).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from .amounts import check_amount, format_amount, to_decimal
from .charset import check_identifier
from .ids import validate_iban

VERSION = "camt.053.001.02"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{VERSION}"

#: Lengths of the schema's free texts (Max140Text, Max105Text, Max500Text).
NAME_LEN = 140
REMITTANCE_LEN = 140
RETURN_INFO_LEN = 105
ADDITIONAL_INFO_LEN = 500

#: Bank transaction codes (ISO 20022 ExternalBankTransaction*Code): our collection
#: credited (family IDDT, issued direct debits; sub-family by scheme) and taken back.
CREDIT_SUBFAMILIES = {"CORE": "ESDD", "B2B": "BBDD"}
RETURN_SUBFAMILY = "UPDD"


@dataclass(frozen=True)
class BatchCredit:
    """The bank's credit of a batch (or of what it still credits of it)."""

    msg_id: str
    amount: Decimal
    count: int
    booking_date: datetime.date
    scheme: str = "CORE"


@dataclass(frozen=True)
class ReturnedDebit:
    """A debit of the batch that the bank took back (a return or refund)."""

    end_to_end_id: str
    amount: Decimal
    reason_code: str
    booking_date: datetime.date
    mandate_id: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    remittance: str | None = None
    return_info: str | None = None
    scheme: str = "CORE"


@dataclass(frozen=True)
class Statement:
    """One statement of the creditor's account: ``entries`` (BatchCredit and
    ReturnedDebit, in booking order) from the ``opening_balance`` (negative: overdrawn)."""

    statement_id: str
    created: datetime.datetime
    iban: str
    creditor_name: str
    creditor_id: str | None = None
    currency: str = "EUR"
    opening_balance: Decimal = Decimal("0.00")
    entries: tuple = field(default_factory=tuple)

    @property
    def closing_balance(self):
        """The opening balance plus the credits minus the debits."""
        return self.opening_balance + sum(
            (_signed(entry) for entry in self.entries), Decimal("0.00"))


def write_camt053(statement):
    """Return the camt.053.001.02 document (UTF-8 bytes) of ``statement``.

    Raises :class:`sepa.SepaValidationError` for an identifier that is too long or not
    in the SEPA character set, an invalid IBAN or an amount that is not a SEPA amount;
    names and texts are cut to their element's length.
    """
    _check(statement)
    root = etree.Element(_tag("Document"), nsmap={None: NAMESPACE})
    message = _sub(root, "BkToCstmrStmt")
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", statement.statement_id)
    _sub(header, "CreDtTm", _datetime(statement.created))
    stmt = _sub(message, "Stmt")
    _sub(stmt, "Id", statement.statement_id)
    _sub(stmt, "CreDtTm", _datetime(statement.created))
    dates = [entry.booking_date for entry in statement.entries] or [statement.created.date()]
    period = _sub(stmt, "FrToDt")
    _sub(period, "FrDtTm", _datetime(datetime.datetime.combine(min(dates), datetime.time())))
    _sub(period, "ToDtTm", _datetime(datetime.datetime.combine(
        max(dates), datetime.time(23, 59, 59))))
    account = _sub(stmt, "Acct")
    _path(account, "Id/IBAN", statement.iban)
    _sub(account, "Ccy", statement.currency)
    _balance(stmt, "OPBD", statement.opening_balance, min(dates), statement.currency)
    _balance(stmt, "CLBD", statement.closing_balance, max(dates), statement.currency)
    _summary(stmt, statement.entries)
    for index, entry in enumerate(statement.entries, start=1):
        bank_ref = f"{statement.statement_id}-{index:03d}"
        if isinstance(entry, BatchCredit):
            _credit_entry(stmt, entry, bank_ref, statement.currency)
        else:
            _return_entry(stmt, entry, bank_ref, statement)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# -- checks -------------------------------------------------------------------------------

def _check(statement):
    check_identifier(statement.statement_id, "Stmt/Id")
    validate_iban(statement.iban, "Acct/Id/IBAN")
    to_decimal(statement.opening_balance, "opening balance")
    if statement.creditor_id:
        check_identifier(statement.creditor_id, "Cdtr/Id")
    for entry in statement.entries:
        if not isinstance(entry, BatchCredit | ReturnedDebit):
            raise TypeError(f"not a statement entry: {entry!r}")
        check_amount(entry.amount, "Ntry/Amt")
        if isinstance(entry, BatchCredit):
            check_identifier(entry.msg_id, "Btch/MsgId")
        else:
            check_identifier(entry.end_to_end_id, "Refs/EndToEndId")
            check_identifier(entry.reason_code, "RtrInf/Rsn/Cd", max_len=4)
            if entry.mandate_id:
                check_identifier(entry.mandate_id, "Refs/MndtId")
            if entry.debtor_iban:
                validate_iban(entry.debtor_iban, "DbtrAcct/Id/IBAN")


# -- building -------------------------------------------------------------------------------

def _tag(name):
    return f"{{{NAMESPACE}}}{name}"


def _sub(parent, name, text=None, **attrib):
    node = etree.SubElement(parent, _tag(name), attrib)
    if text is not None:
        node.text = text
    return node


def _path(parent, path, text=None, **attrib):
    """Create ``A/B/C`` under ``parent``; ``text`` and ``attrib`` go on the last one."""
    names = path.split("/")
    for name in names[:-1]:
        parent = _sub(parent, name)
    return _sub(parent, names[-1], text, **attrib)


def _cut(text, max_len):
    return " ".join(str(text).split())[:max_len]


def _datetime(value):
    return value.replace(microsecond=0, tzinfo=None).isoformat()


def _signed(entry):
    return entry.amount if isinstance(entry, BatchCredit) else -entry.amount


def _amount(parent, path, amount, currency):
    return _path(parent, path, format_amount(amount), Ccy=currency)


def _balance(stmt, code, amount, day, currency):
    balance = _sub(stmt, "Bal")
    _path(balance, "Tp/CdOrPrtry/Cd", code)
    _amount(balance, "Amt", abs(amount), currency)
    _sub(balance, "CdtDbtInd", "DBIT" if amount < 0 else "CRDT")
    _path(balance, "Dt/Dt", day.isoformat())


def _summary(stmt, entries):
    credits = [entry.amount for entry in entries if isinstance(entry, BatchCredit)]
    debits = [entry.amount for entry in entries if not isinstance(entry, BatchCredit)]
    net = sum(credits, Decimal("0.00")) - sum(debits, Decimal("0.00"))
    summary = _sub(stmt, "TxsSummry")
    total = _sub(summary, "TtlNtries")
    _sub(total, "NbOfNtries", str(len(entries)))
    _sub(total, "Sum", format_amount(sum(credits + debits, Decimal("0.00"))))
    _sub(total, "TtlNetNtryAmt", format_amount(abs(net)))
    _sub(total, "CdtDbtInd", "DBIT" if net < 0 else "CRDT")
    for name, amounts in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
        part = _sub(summary, name)
        _sub(part, "NbOfNtries", str(len(amounts)))
        _sub(part, "Sum", format_amount(sum(amounts, Decimal("0.00"))))


def _entry_header(stmt, amount, credit, day, bank_ref, currency, subfamily):
    entry = _sub(stmt, "Ntry")
    _amount(entry, "Amt", amount, currency)
    _sub(entry, "CdtDbtInd", "CRDT" if credit else "DBIT")
    _sub(entry, "Sts", "BOOK")
    _path(entry, "BookgDt/Dt", day.isoformat())
    _path(entry, "ValDt/Dt", day.isoformat())
    _sub(entry, "AcctSvcrRef", bank_ref)
    domain = _path(entry, "BkTxCd/Domn")
    _sub(domain, "Cd", "PMNT")
    family = _sub(domain, "Fmly")
    _sub(family, "Cd", "IDDT")
    _sub(family, "SubFmlyCd", subfamily)
    return entry


def _credit_entry(stmt, credit, bank_ref, currency):
    """The batch booking: one entry for the whole batch; its details name the file
    (``Btch/MsgId``, number of debits, total) and one transaction carries the reference
    in its texts, as banks print it on the statement line."""
    subfamily = CREDIT_SUBFAMILIES.get(credit.scheme, CREDIT_SUBFAMILIES["CORE"])
    entry = _entry_header(stmt, credit.amount, True, credit.booking_date, bank_ref, currency,
                          subfamily)
    details = _sub(entry, "NtryDtls")
    batch = _sub(details, "Btch")
    _sub(batch, "MsgId", credit.msg_id)
    _sub(batch, "NbOfTxs", str(credit.count))
    _amount(batch, "TtlAmt", credit.amount, currency)
    _sub(batch, "CdtDbtInd", "CRDT")
    tx = _sub(details, "TxDtls")
    refs = _sub(tx, "Refs")
    _sub(refs, "MsgId", credit.msg_id)
    _sub(refs, "AcctSvcrRef", bank_ref)
    _amount(tx, "AmtDtls/TxAmt/Amt", credit.amount, currency)
    text = f"SEPA Incasso batch {credit.msg_id}, {credit.count} transactions"
    _sub(tx, "AddtlTxInf", _cut(text, ADDITIONAL_INFO_LEN))
    _sub(entry, "AddtlNtryInf", _cut(text, ADDITIONAL_INFO_LEN))


def _return_entry(stmt, debit, bank_ref, statement):
    """A debit the bank took back: its own entry with one transaction."""
    currency = statement.currency
    entry = _entry_header(stmt, debit.amount, False, debit.booking_date, bank_ref, currency,
                          RETURN_SUBFAMILY)
    tx = _path(entry, "NtryDtls/TxDtls")
    refs = _sub(tx, "Refs")
    _sub(refs, "AcctSvcrRef", bank_ref)
    _sub(refs, "EndToEndId", debit.end_to_end_id)
    if debit.mandate_id:
        _sub(refs, "MndtId", debit.mandate_id)
    _amount(tx, "AmtDtls/TxAmt/Amt", debit.amount, currency)
    parties = _sub(tx, "RltdPties")
    if debit.debtor_name:
        _path(parties, "Dbtr/Nm", _cut(debit.debtor_name, NAME_LEN))
    if debit.debtor_iban:
        _path(parties, "DbtrAcct/Id/IBAN", debit.debtor_iban)
    creditor = _sub(parties, "Cdtr")
    _sub(creditor, "Nm", _cut(statement.creditor_name, NAME_LEN))
    if statement.creditor_id:
        other = _path(creditor, "Id/PrvtId/Othr")
        _sub(other, "Id", statement.creditor_id)
        _path(other, "SchmeNm/Prtry", "SEPA")
    _path(parties, "CdtrAcct/Id/IBAN", statement.iban)
    if debit.remittance:
        _path(tx, "RmtInf/Ustrd", _cut(debit.remittance, REMITTANCE_LEN))
    returned = _sub(tx, "RtrInf")
    _path(returned, "Rsn/Cd", debit.reason_code)
    if debit.return_info:
        _sub(returned, "AddtlInf", _cut(debit.return_info, RETURN_INFO_LEN))
    _sub(entry, "AddtlNtryInf", _cut(
        f"SEPA Incasso storno {debit.end_to_end_id} {debit.reason_code}", ADDITIONAL_INFO_LEN))
