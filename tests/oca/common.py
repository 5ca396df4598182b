"""A camt.053 builder (bank to customer statement, version 001.02) and a base class that
imports such files through OCA's statement import wizard, as a user uploads them."""

import base64
from dataclasses import dataclass, field

from lxml import etree

from odoo import fields

from ..common import CREDITOR_IBAN, SepaBatchCommon

CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclass
class Entry:
    """One booked entry (Ntry) of a statement: a batch booking (``batch`` = PmtInfId, no
    transaction details) or one returned debit (``end_to_end_id``, ``reason``)."""

    amount: float
    credit: bool
    bank_ref: str
    batch: str = None
    transactions: int = 0
    end_to_end_id: str = None
    mandate: str = None
    reason: str = None
    reason_info: str = None
    remittance: str = None
    entry_info: str = None
    debtor: tuple = None  # (name, IBAN)
    creditor: tuple = None  # (name, IBAN)
    family: tuple = field(default=("RDDT", "ESDD"))


def _sub(parent, tag, text=None, **attrib):
    node = etree.SubElement(parent, f"{{{CAMT053}}}{tag}", attrib)
    if text is not None:
        node.text = text
    return node


def _path(parent, path, text=None, **attrib):
    """Create ``A/B/C`` under ``parent``; ``text`` and ``attrib`` go on the last one."""
    tags = path.split("/")
    for tag in tags[:-1]:
        parent = _sub(parent, tag)
    return _sub(parent, tags[-1], text, **attrib)


def _amount(parent, path, amount):
    return _path(parent, path, f"{amount:.2f}", Ccy="EUR")


def _balance(stmt, code, amount, day):
    bal = _sub(stmt, "Bal")
    _path(bal, "Tp/CdOrPrtry/Cd", code)
    _amount(bal, "Amt", abs(amount))
    _sub(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _path(bal, "Dt/Dt", day)


def _transaction(details, entry):
    tx = _sub(details, "TxDtls")
    refs = _sub(tx, "Refs")
    _sub(refs, "AcctSvcrRef", entry.bank_ref + "-1")
    _sub(refs, "EndToEndId", entry.end_to_end_id or "NOTPROVIDED")
    if entry.mandate:
        _sub(refs, "MndtId", entry.mandate)
    _amount(tx, "AmtDtls/TxAmt/Amt", entry.amount)
    if entry.debtor or entry.creditor:
        parties = _sub(tx, "RltdPties")
        for role, party in (("Dbtr", entry.debtor), ("Cdtr", entry.creditor)):
            if party:
                _path(parties, f"{role}/Nm", party[0])
                _path(parties, f"{role}Acct/Id/IBAN", party[1])
    if entry.remittance:
        _path(tx, "RmtInf/Ustrd", entry.remittance)
    if entry.reason:
        rtr = _sub(tx, "RtrInf")
        _path(rtr, "Rsn/Cd", entry.reason)
        if entry.reason_info:
            _sub(rtr, "AddtlInf", entry.reason_info)


def _entry(stmt, entry, day):
    ntry = _sub(stmt, "Ntry")
    _amount(ntry, "Amt", entry.amount)
    _sub(ntry, "CdtDbtInd", "CRDT" if entry.credit else "DBIT")
    _sub(ntry, "Sts", "BOOK")
    _path(ntry, "BookgDt/Dt", day)
    _path(ntry, "ValDt/Dt", day)
    _sub(ntry, "AcctSvcrRef", entry.bank_ref)
    domain = _path(ntry, "BkTxCd/Domn/Cd", "PMNT").getparent()
    family = _sub(domain, "Fmly")
    _sub(family, "Cd", entry.family[0])
    _sub(family, "SubFmlyCd", entry.family[1])
    if entry.batch or entry.end_to_end_id or entry.reason:
        details = _sub(ntry, "NtryDtls")
        if entry.batch:
            batch = _sub(details, "Btch")
            _sub(batch, "PmtInfId", entry.batch)
            _sub(batch, "NbOfTxs", str(entry.transactions))
        else:
            _transaction(details, entry)
    if entry.entry_info:
        _sub(ntry, "AddtlNtryInf", entry.entry_info)


def camt053(entries, opening, statement_id, day):
    """The camt.053.001.02 file of one statement of the company's bank account with
    ``entries`` booked on ``day`` (ISO date string), from the ``opening`` balance."""
    root = etree.Element(f"{{{CAMT053}}}Document", nsmap={None: CAMT053})
    message = _sub(root, "BkToCstmrStmt")
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", f"MSG-{statement_id}")
    _sub(header, "CreDtTm", f"{day}T06:00:00")
    stmt = _sub(message, "Stmt")
    _sub(stmt, "Id", statement_id)
    _sub(stmt, "CreDtTm", f"{day}T06:00:00")
    account = _sub(stmt, "Acct")
    _path(account, "Id/IBAN", CREDITOR_IBAN)
    _sub(account, "Ccy", "EUR")
    closing = opening + sum(e.amount if e.credit else -e.amount for e in entries)
    _balance(stmt, "OPBD", opening, day)
    _balance(stmt, "CLBD", closing, day)
    for entry in entries:
        _entry(stmt, entry, day)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class OcaCommon(SepaBatchCommon):
    """A sent batch of two debits in two payment blocks (first: 100.00 of the debtor,
    recurring: 30.00 of Jan de Vries), and OCA's statement import."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sepa_storno_charge_account_id = cls.company_data["default_account_expense"]
        cls.inv_first = cls.invoice(cls.debtor, 100.0)
        cls.inv_recurring = cls.invoice(cls.recurring_partner, 30.0)
        cls.StLine = cls.env["account.bank.statement.line"]

    def send_batch(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_send()
        self.assertEqual(batch.state, "sent")
        return batch

    def line_of(self, batch, invoice):
        return batch.line_ids.filtered(lambda line: line.invoice_id == invoice)

    def import_statement(self, data, filename):
        """Upload ``data`` in OCA's import wizard opened from the bank journal (the
        dashboard's "Import" button) and return the lines of the statement it created."""
        action = self.bank_journal.import_account_statement()
        wizard = self.env["account.statement.import"].with_context(**action["context"]).create({
            "statement_file": base64.b64encode(data),
            "statement_filename": filename,
        })
        result = wizard.import_file_button()
        statements = self.env["account.bank.statement"].search(result["domain"])
        self.assertEqual(len(statements), 1)
        return statements.line_ids.sorted("sequence")

    @staticmethod
    def today():
        return fields.Date.to_string(fields.Date.today())

    def settlement_statement(self, batch):
        """The bank's credits of the batch: one batch booking per payment block, its
        PmtInfId in the entry's details, no transaction details (as banks book a batch)."""
        entries = []
        for index, block in enumerate(sorted(set(batch.line_ids.mapped("pmt_inf_id")))):
            lines = batch.line_ids.filtered(lambda line, b=block: line.pmt_inf_id == b)
            entries.append(Entry(
                amount=sum(lines.mapped("amount")), credit=True, bank_ref=f"BNK-C{index}",
                batch=block, transactions=len(set(lines.mapped("end_to_end_id"))),
                entry_info="SEPA Incasso batch", family=("RDDT", "BBDD")))
        return camt053(entries, 0.0, "STMT-1", self.today())

    def returned_debit(self, line, reason="AM04", end_to_end_id=True, bank_ref="BNK-R1"):
        """The bank's debit of a returned direct debit (``line``'s debit)."""
        return Entry(
            amount=line.amount, credit=False, bank_ref=bank_ref,
            end_to_end_id=line.end_to_end_id if end_to_end_id else None,
            mandate=line.mandate_id.name, reason=reason, reason_info="Storno incasso",
            remittance=line.invoice_id.name, entry_info="SEPA Incasso storno",
            debtor=(line.partner_id.name, line.mandate_id.partner_bank_id.sanitized_acc_number),
            creditor=(self.company.name, self.bank_journal.bank_account_id.sanitized_acc_number),
            family=("RDDT", "UPDD"))
