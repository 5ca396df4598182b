"""camt.053 (statement) and camt.054 (debit/credit notification) handler, 001.02 to 001.08.

Both messages carry the same ``Ntry`` / ``NtryDtls`` / ``TxDtls`` structure, so one handler
reads them all. Each entry is classified by its bank transaction code (``BkTxCd``),
credit/debit indicator and reversal indicator:

* a direct-debit credit (``PMNT/IDDT/*`` or ``PMNT/RDDT/*``, ``CRDT``) settles a batch of
  our collections: one ``credit`` item per entry with the batch references;
* a direct-debit debit of ours (``IDDT`` debit, or any DD debit that is a reversal or an
  unpaid/reversal sub-family) is an R-transaction: one ``reject`` / ``return`` /
  ``refund`` / ``reversal`` item per ``TxDtls`` (refund = MD06), or one entry-level item
  when the entry has no details;
* a debit collected FROM our account (``RDDT`` debit, not a reversal) and a returned
  non-DD payment (``RRTN`` sub-family or ``RtrInf``) become ``other`` items, never stornos;
* an entry whose code is not an ISO code (or is missing) is read as a possible credit when
  it is a plain credit, and as a return when a ``TxDtls`` carries return information;
* every other entry is unrelated to direct debits and is not listed.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .base import Fields, Xml, iter_ends, parse_date, parse_decimal, parse_int, release
from .records import ReadResult, RTransaction

#: ISO 20022 bank transaction code domains (ExternalBankTransactionDomain1Code).
ISO_DOMAINS = frozenset(
    {"PMNT", "ACMT", "CAMT", "CMDT", "DERV", "FORX", "LDAS", "SECU", "TRAD", "XTND"}
)
#: Families of direct debits: issued by us (IDDT) and received / collected (RDDT).
DD_FAMILIES = frozenset({"IDDT", "RDDT"})
#: Sub-families that mark an unpaid or reversed direct debit.
DD_RETURN_SUBFAMILIES = frozenset({"UPDD", "PRDD", "RCDD"})
#: Sub-family of a returned payment (credit transfer returns).
RETURNED_SUBFAMILY = "RRTN"
#: ``/RTYP/xxxx`` markers some banks put in ``RtrInf/AddtlInf``.
RETURN_TYPES = {"RJCT": "reject", "RTRN": "return", "RFND": "refund", "RVSL": "reversal"}
REFUND_REASON = "MD06"

_RTYP = re.compile(r"/RTYP/([A-Z]{4})")
_REFERENCE_IN_TEXT = re.compile(r"REFERENZ-NR\.?:?\s*(\S+)", re.IGNORECASE)

#: Values read from each ``Ntry`` (its header, before ``NtryDtls``).
HEADER_FIELDS = {
    "amount": "Amt",
    "currency": "Amt/@Ccy",
    "cdt_dbt": "CdtDbtInd",
    "reversal": "RvslInd",
    "status": "Sts",
    "booking_date": "BookgDt",
    "value_date": "ValDt",
    "acct_svcr_ref": "AcctSvcrRef",
    "ntry_ref": "NtryRef",
    "domain": "BkTxCd/Domn/Cd",
    "family": "BkTxCd/Domn/Fmly/Cd",
    "subfamily": "BkTxCd/Domn/Fmly/SubFmlyCd",
    "bank_tx_code_prtry": "BkTxCd/Prtry/Cd",
    "charges": "#Chrgs",
    "charges_total": "Chrgs/TtlChrgsAndTaxAmt",
}
#: Values read from each ``NtryDtls``.
BATCH_FIELDS = {
    "msg_id": "Btch/MsgId",
    "pmt_inf_id": "Btch/PmtInfId",
    "nb_of_txs": "Btch/NbOfTxs",
}
#: Values read from each ``TxDtls``.
TX_FIELDS = {
    "end_to_end_id": "Refs/EndToEndId",
    "msg_id": "Refs/MsgId",
    "pmt_inf_id": "Refs/PmtInfId",
    "instr_id": "Refs/InstrId",
    "mandate_id": "Refs/MndtId",
    "acct_svcr_ref": "Refs/AcctSvcrRef",
    "amount": "Amt",
    "currency": "Amt/@Ccy",
    "tx_amount": "AmtDtls/TxAmt/Amt",
    "tx_currency": "AmtDtls/TxAmt/Amt/@Ccy",
    "instd_amount": "AmtDtls/InstdAmt/Amt",
    "instd_currency": "AmtDtls/InstdAmt/Amt/@Ccy",
    "debtor_name": "RltdPties/Dbtr/Nm|RltdPties/Dbtr/Pty/Nm",
    "debtor_iban": "RltdPties/DbtrAcct/Id/IBAN",
    "creditor_id": "RltdPties/Cdtr/Id/PrvtId/Othr/Id|RltdPties/Cdtr/Pty/Id/PrvtId/Othr/Id",
    "charges": "#Chrgs",
    "charges_total": "Chrgs/TtlChrgsAndTaxAmt",
    "return_info": "#RtrInf",
    "reason_code": "RtrInf/Rsn/Cd",
    "reason_prtry": "RtrInf/Rsn/Prtry",
    "return_text": "RtrInf/AddtlInf",
    "return_texts": "#RtrInf/AddtlInf",
    "tx_text": "AddtlTxInf",
}
#: Codes repeated on many items: kept as one string object per distinct value.
HEADER_SHARED = ("currency", "cdt_dbt", "status", "domain", "family", "subfamily")
TX_SHARED = ("currency", "tx_currency", "instd_currency", "reason_code", "msg_id", "pmt_inf_id")
#: Where the amount of a ``TxDtls`` is taken from, in order of preference.
TX_AMOUNTS = (
    ("amount", "currency"),
    ("tx_amount", "tx_currency"),
    ("instd_amount", "instd_currency"),
)

#: Entry categories (see the module docstring).
CREDIT, STORNO, DD_OTHER, RETURNED, UNKNOWN, SKIP = (
    "credit",
    "storno",
    "dd_other",
    "returned",
    "unknown",
    "skip",
)


@dataclass
class _Batch:
    """References of one ``NtryDtls/Btch`` block."""

    msg_id: str | None = None
    pmt_inf_id: str | None = None
    nb_of_txs: int | None = None


@dataclass
class _Tx:
    """Values of one ``TxDtls`` (internal, turned into an RTransaction at entry end)."""

    batch: _Batch
    end_to_end_id: str | None = None
    msg_id: str | None = None
    pmt_inf_id: str | None = None
    instr_id: str | None = None
    mandate_id: str | None = None
    acct_svcr_ref: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    reason_code: str | None = None
    reason_proprietary: bool = False
    return_type: str | None = None
    additional_info: str | None = None
    has_return_info: bool = False
    debtor_name: str | None = None
    debtor_iban: str | None = None
    creditor_id: str | None = None
    charges: Decimal | None = None

    @property
    def reason_and_type(self):
        """Return ``(reason_code, return_type)``, the arguments of :func:`storno_kind`."""
        return self.reason_code, self.return_type


@dataclass
class _Entry:
    """Values of one ``Ntry`` header plus what its ``TxDtls`` contributed."""

    element: object
    amount: Decimal | None = None
    currency: str | None = None
    cdt_dbt: str | None = None
    reversal: bool = False
    status: str | None = None
    booking_date: object = None
    value_date: object = None
    acct_svcr_ref: str | None = None
    ntry_ref: str | None = None
    domain: str | None = None
    family: str | None = None
    subfamily: str | None = None
    bank_tx_code: str | None = None
    bank_tx_code_prtry: str | None = None
    charges: Decimal | None = None
    category: str = SKIP
    account: str | None = None
    batches: list = field(default_factory=list)
    txs: list = field(default_factory=list)
    tx_count: int = 0


def classify(domain, family, subfamily, cdt_dbt, reversal):
    """Return the category of an entry from its bank transaction code and indicators."""
    if domain not in ISO_DOMAINS:
        return CREDIT if cdt_dbt == "CRDT" and not reversal else UNKNOWN
    if domain == "PMNT" and family in DD_FAMILIES:
        if cdt_dbt == "CRDT":
            return DD_OTHER if reversal else CREDIT
        if family == "IDDT" or reversal or subfamily in DD_RETURN_SUBFAMILIES:
            return STORNO
        return DD_OTHER
    # Other payments: only their returns are listed (as ``other``).
    return RETURNED if domain == "PMNT" else SKIP


def storno_kind(reason_code, return_type):
    """Return reject/return/refund/reversal for an R-transaction of our direct debit."""
    if reason_code == REFUND_REASON:
        return "refund"
    return RETURN_TYPES.get(return_type, "return")


def _returned_with_unknown_code(entry):
    """True for an entry with a non-ISO code whose details carry return information."""
    return entry.domain not in ISO_DOMAINS and any(tx.has_return_info for tx in entry.txs)


def _common(values):
    """Return the single distinct non-empty value of ``values``, or None."""
    distinct = {value for value in values if value is not None}
    return distinct.pop() if len(distinct) == 1 else None


class CamtReader:
    """Streaming reader of one camt.053 / camt.054 message."""

    def __init__(self, message, namespace):
        self.message = message
        self.xml = Xml(namespace)
        self.header_fields = Fields(namespace, HEADER_FIELDS, shared=HEADER_SHARED)
        self.batch_fields = Fields(namespace, BATCH_FIELDS, shared=tuple(BATCH_FIELDS))
        self.tx_fields = Fields(namespace, TX_FIELDS, shared=TX_SHARED)
        self.records = []
        self.report_msg_id = None
        self.accounts = {}  # ordered set
        self._account_of = (None, None)  # (statement element, its account)
        self._entry = None
        self._dtls = None
        self._batch = _Batch()

    def read(self, data):
        """Read ``data`` and return a ReadResult."""
        names = ("GrpHdr", "TxDtls", "Ntry")
        for element in iter_ends(data, self.xml.namespace, names):
            name = element.tag.rpartition("}")[2]
            if name == "TxDtls":
                self._on_tx(element)
            elif name == "Ntry":
                self._on_entry(element)
            else:
                self.report_msg_id = self.xml.text(element, "MsgId")
            release(element)
        return ReadResult(self.message, self.records, report_msg_id=self.report_msg_id,
                          accounts=tuple(self.accounts))

    # -- streaming callbacks -------------------------------------------------------------

    def _on_tx(self, tx):
        """Store one ``TxDtls`` of the current entry."""
        dtls = tx.getparent()
        entry = self._current_entry(dtls.getparent())
        if dtls is not self._dtls:
            self._dtls = dtls
            self._batch = self._read_batch(dtls)
            entry.batches.append(self._batch)
        entry.tx_count += 1
        entry.txs.append(self._read_tx(tx, self._batch))

    def _on_entry(self, ntry):
        """Finish the current entry: build its records."""
        entry = self._current_entry(ntry)
        if entry.tx_count == 0:
            entry.batches = [self._read_batch(dtls) for dtls in self.xml.findall(ntry, "NtryDtls")]
        records = self._entry_records(entry)
        if records:
            self.accounts.setdefault(entry.account)
        self.records.extend(records)
        self._entry = None
        self._dtls = None

    def _current_entry(self, ntry):
        """Return the state of entry ``ntry``, reading its header on first use."""
        if self._entry is None or self._entry.element is not ntry:
            self._entry = self._read_header(ntry)
        return self._entry

    # -- reading -------------------------------------------------------------------------

    def _read_header(self, ntry):
        """Read the entry-level values of ``ntry`` (everything before ``NtryDtls``)."""
        values = self.header_fields.read(ntry)
        entry = _Entry(
            element=ntry,
            amount=parse_decimal(values["amount"], "Ntry/Amt"),
            currency=values["currency"],
            cdt_dbt=values["cdt_dbt"],
            reversal=(values["reversal"] or "").lower() in ("true", "1"),
            status=values["status"],
            booking_date=parse_date(values["booking_date"], "Ntry/BookgDt"),
            value_date=parse_date(values["value_date"], "Ntry/ValDt"),
            acct_svcr_ref=values["acct_svcr_ref"],
            ntry_ref=values["ntry_ref"],
            domain=values["domain"],
            family=values["family"],
            subfamily=values["subfamily"],
            bank_tx_code_prtry=values["bank_tx_code_prtry"],
            charges=self._charges(ntry, values),
            account=self._account(ntry.getparent()),
        )
        if entry.domain is not None:
            parts = (entry.domain, entry.family, entry.subfamily)
            entry.bank_tx_code = "/".join(part or "" for part in parts)
        entry.category = classify(
            entry.domain, entry.family, entry.subfamily, entry.cdt_dbt, entry.reversal
        )
        return entry

    def _account(self, statement):
        """The account of ``statement`` (``Stmt``, ``Ntfctn`` or ``Rpt``): its IBAN, else
        its other id, else None. Read at its first entry, before the entries released
        the elements ahead of them (``Acct`` among them)."""
        if statement is not None and self._account_of[0] is not statement:
            x = self.xml
            account = x.text(statement, "Acct/Id/IBAN") or x.text(statement, "Acct/Id/Othr/Id")
            self._account_of = (statement, account)
        return self._account_of[1]

    def _read_batch(self, dtls):
        """Read the ``Btch`` block of one ``NtryDtls``."""
        values = self.batch_fields.read(dtls)
        return _Batch(
            msg_id=values["msg_id"],
            pmt_inf_id=values["pmt_inf_id"],
            nb_of_txs=parse_int(values["nb_of_txs"], "Btch/NbOfTxs"),
        )

    def _charges(self, element, values):
        """Return the total charges reported in ``element/Chrgs``, or None."""
        if not values["charges"]:
            return None
        if values["charges_total"] is not None:
            return parse_decimal(values["charges_total"], "Chrgs/TtlChrgsAndTaxAmt")
        x = self.xml
        amounts = [x.amount(node, "Amt") for node in x.findall(element, "Chrgs/Rcrd")]
        amounts += [x.amount(node, "Amt") for node in x.findall(element, "Chrgs")]
        amounts = [value for value in amounts if value is not None]
        return sum(amounts) if amounts else None

    def _read_tx(self, tx, batch):
        """Read one ``TxDtls`` element."""
        values = self.tx_fields.read(tx)
        amount, currency = None, None
        for amount_name, currency_name in TX_AMOUNTS:
            if values[amount_name] is not None:
                amount = parse_decimal(values[amount_name], TX_FIELDS[amount_name])
                currency = values[currency_name]
                break
        item = _Tx(
            batch=batch,
            end_to_end_id=values["end_to_end_id"],
            msg_id=values["msg_id"],
            pmt_inf_id=values["pmt_inf_id"],
            instr_id=values["instr_id"],
            mandate_id=values["mandate_id"],
            acct_svcr_ref=values["acct_svcr_ref"],
            amount=amount,
            currency=currency,
            debtor_name=values["debtor_name"],
            debtor_iban=values["debtor_iban"],
            creditor_id=values["creditor_id"],
            charges=self._charges(tx, values),
        )
        if values["return_info"]:
            self._read_return_info(item, tx, values)
        return item

    def _read_return_info(self, item, tx, values):
        """Fill the reason fields of ``item`` from ``RtrInf``."""
        x = self.xml
        item.has_return_info = True
        if values["reason_code"] is not None:
            item.reason_code = values["reason_code"]
        elif values["reason_prtry"] is not None:
            item.reason_code, item.reason_proprietary = values["reason_prtry"], True
        if values["return_texts"] > 1:
            item.additional_info = " ".join(x.texts(tx, "RtrInf/AddtlInf"))
        else:
            item.additional_info = values["return_text"]
        texts = (item.additional_info or "", values["tx_text"] or "")
        match = _RTYP.search(" ".join(texts))
        item.return_type = match.group(1) if match else None

    # -- records -------------------------------------------------------------------------

    def _entry_records(self, entry):
        """Return the records of a finished entry."""
        if entry.category == CREDIT and _returned_with_unknown_code(entry):
            entry.category = UNKNOWN
        if entry.category == CREDIT:
            extra_text = " ".join(self.xml.texts(entry.element, "AddtlNtryInf"))
            return [self._credit_record(entry, extra_text)]
        if entry.tx_count == 0:
            return self._entry_level_records(entry)
        records = []
        for tx in entry.txs:
            kind = self._tx_kind(entry, tx)
            if kind is not None:
                records.append(self._tx_record(entry, tx, kind))
        return records

    def _tx_kind(self, entry, tx):
        """Return the kind of the item for ``tx`` in ``entry``, or None to skip it."""
        category = entry.category
        if category == UNKNOWN and tx.has_return_info:
            return "other" if entry.cdt_dbt == "CRDT" else storno_kind(*tx.reason_and_type)
        if category == STORNO:
            return storno_kind(*tx.reason_and_type)
        if category == DD_OTHER:
            return "other"
        if category == RETURNED and (tx.has_return_info or entry.subfamily == RETURNED_SUBFAMILY):
            return "other"
        return None

    def _entry_level_records(self, entry):
        """Return the entry-level item of an entry without ``TxDtls`` (or nothing)."""
        if entry.category == STORNO:
            kind = "return"
        elif entry.category == DD_OTHER or (
            entry.category == RETURNED and entry.subfamily == RETURNED_SUBFAMILY
        ):
            kind = "other"
        else:
            return []
        batch = self._merged_batch(entry, [])
        return [
            RTransaction(
                kind=kind,
                level="entry",
                msg_id=batch.msg_id,
                pmt_inf_id=batch.pmt_inf_id,
                nb_of_txs=batch.nb_of_txs,
                amount=entry.amount,
                currency=entry.currency,
                charges=entry.charges,
                **self._entry_fields(entry),
            )
        ]

    def _tx_record(self, entry, tx, kind):
        """Return the tx-level item for ``tx``."""
        single = entry.tx_count == 1
        amount, currency = tx.amount, tx.currency
        if amount is None and single:
            amount, currency = entry.amount, entry.currency
        charges = tx.charges if tx.charges is not None or not single else entry.charges
        return RTransaction(
            kind=kind,
            level="tx",
            end_to_end_id=tx.end_to_end_id,
            msg_id=tx.msg_id or tx.batch.msg_id,
            pmt_inf_id=tx.pmt_inf_id or tx.batch.pmt_inf_id,
            instr_id=tx.instr_id,
            mandate_id=tx.mandate_id,
            amount=amount,
            currency=currency or entry.currency,
            reason_code=tx.reason_code,
            reason_proprietary=tx.reason_proprietary,
            return_type=tx.return_type,
            additional_info=tx.additional_info,
            debtor_name=tx.debtor_name,
            debtor_iban=tx.debtor_iban,
            creditor_id=tx.creditor_id,
            charges=charges,
            tx_acct_svcr_ref=tx.acct_svcr_ref,
            **self._entry_fields(entry),
        )

    def _credit_record(self, entry, extra_text):
        """Return the ``credit`` item of a credit entry (one per entry)."""
        txs = entry.txs
        single = txs[0] if len(txs) == 1 else None
        batch = self._merged_batch(entry, txs)
        nb_of_txs = batch.nb_of_txs if batch.nb_of_txs is not None else (len(txs) or None)
        match = _REFERENCE_IN_TEXT.search(extra_text)
        return RTransaction(
            kind="credit",
            level="entry",
            end_to_end_id=single.end_to_end_id if single else None,
            msg_id=batch.msg_id,
            pmt_inf_id=batch.pmt_inf_id,
            instr_id=single.instr_id if single else None,
            mandate_id=single.mandate_id if single else None,
            amount=entry.amount,
            currency=entry.currency,
            debtor_name=single.debtor_name if single else None,
            debtor_iban=single.debtor_iban if single else None,
            charges=entry.charges,
            tx_acct_svcr_ref=single.acct_svcr_ref if single else None,
            nb_of_txs=nb_of_txs,
            end_to_end_ids=tuple(tx.end_to_end_id for tx in txs),
            tx_amounts=tuple(tx.amount for tx in txs),
            pmt_inf_id_in_addtl_info=match.group(1) if match else None,
            **self._entry_fields(entry),
        )

    @staticmethod
    def _merged_batch(entry, txs):
        """Return the batch references of an entry from its Btch blocks, else its TxDtls."""
        batches = entry.batches
        counts = [batch.nb_of_txs for batch in batches if batch.nb_of_txs is not None]
        return _Batch(
            msg_id=_common(b.msg_id for b in batches) or _common(tx.msg_id for tx in txs),
            pmt_inf_id=_common(b.pmt_inf_id for b in batches)
            or _common(tx.pmt_inf_id for tx in txs),
            nb_of_txs=sum(counts) if counts else None,
        )

    @staticmethod
    def _entry_fields(entry):
        """Return the RTransaction fields copied from the entry header."""
        return {
            "status": entry.status,
            "booking_date": entry.booking_date,
            "value_date": entry.value_date,
            "acct_svcr_ref": entry.acct_svcr_ref,
            "ntry_ref": entry.ntry_ref,
            "bank_tx_code": entry.bank_tx_code,
            "bank_tx_code_prtry": entry.bank_tx_code_prtry,
            "entry_amount": entry.amount,
            "entry_cdt_dbt": entry.cdt_dbt,
            "reversal": entry.reversal,
        }


def read_camt(message, namespace, data):
    """Read a camt.053 or camt.054 message (bytes) and return a ReadResult."""
    return CamtReader(message, namespace).read(data)
