"""The sample bank statement of a sent batch, in a demo database.

A demo has no bank: **Download a sample bank statement** on a sent batch gives the
camt.053 its bank would send (``sepa.camt053``): the batch's credit in one entry that
names the batch reference (its MsgId), and two of its debits returned (AM04
insufficient funds, MD06 refund), each its own debit entry with its end-to-end id and
reason. Imported with OCA's statement import (``make run`` installs it in the demo), it
settles the batch and registers the two failed debits, as the real statement would.
Offered only where the addon was installed with demo data (``_demo_mode``).
"""

from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..sepa import SepaError
from ..sepa.calendar import add_business_days
from ..sepa.camt053 import BatchCredit, ReturnedDebit, Statement, write_camt053
from ..sepa.matching import mentions
from ..sepa.reasons import get_reason

#: The reasons of the sample's returned debits, one debit each.
SAMPLE_REASONS = ("AM04", "MD06")
#: Business days between the bank's credit and the returns on the sample statement.
RETURN_DELAY_DAYS = 2


class SepaSampleStatement(models.AbstractModel):
    _name = "sepa.sample.statement"
    _description = "SEPA Direct Debit Sample Bank Statement (demo)"

    @api.model
    def _demo_mode(self):
        """Whether this database holds the addon's demo data (it was installed with
        them): Odoo's own flag on the module."""
        return bool(self.env["ir.module.module"].sudo().search_count(
            [("name", "=", "sepa_direct_debit"), ("demo", "=", True)], limit=1))

    @api.model
    def _statement_file(self, batch, reasons=SAMPLE_REASONS):
        """``(filename, camt.053 bytes)`` of the statement the bank sends for ``batch``:
        its credit (what the bank still credits: the batch minus its rejects and the
        payment blocks credited already) and one returned debit per reason of
        ``reasons`` (the first debits of the batch that did not fail; one debit at
        least stays collected)."""
        batch.ensure_one()
        if not self._demo_mode():
            raise UserError(_("A sample bank statement is only offered in a database with "
                              "demo data."))
        batch._check_state(("sent",), _("make a sample bank statement of"))
        journal = batch.journal_id
        iban = journal.bank_account_id.sanitized_acc_number
        if not iban:
            raise UserError(_("The bank journal %(journal)s has no bank account: the "
                              "statement is one of that account.", journal=journal.name))
        amount, count = self._credit_owed(batch)
        if amount <= 0:
            raise UserError(_("The bank has credited %(batch)s completely already: there is "
                              "nothing left for a sample statement.", batch=batch.name))
        credited = batch.collection_date_last or fields.Date.context_today(self)
        returned_on = add_business_days(credited, RETURN_DELAY_DAYS)
        debits = self._returned_debits(batch, reasons, returned_on)
        entries = (
            BatchCredit(msg_id=batch.name, amount=amount, count=count,
                        booking_date=credited, scheme=batch.scheme),
            *debits,
        )
        statement = Statement(
            statement_id=f"STMT-{batch.name}",
            created=fields.Datetime.now(),
            iban=iban,
            creditor_name=batch.creditor_id.name or batch.company_id.name,
            creditor_id=batch.creditor_identifier or batch.company_id.sepa_creditor_identifier
            or None,
            currency=batch.currency_id.name,
            opening_balance=self._opening_balance(journal),
            entries=entries,
        )
        try:
            data = write_camt053(statement)
        except SepaError as error:
            raise UserError(_("The sample bank statement of %(batch)s cannot be made: "
                              "%(error)s", batch=batch.name, error=error)) from error
        return f"camt053-sample-{batch.name}.xml", data

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    @api.model
    def _returned_debits(self, batch, reasons, day):
        """One ReturnedDebit per reason: the batch's first debits (by debit number)
        that did not fail, leaving at least one debit collected."""
        open_lines = batch.line_ids.filtered(lambda line: line.state != "failed")
        by_debit = {}
        for line in open_lines.sorted("debit_number"):
            by_debit.setdefault(line.end_to_end_id, self.env["sepa.batch.line"])
            by_debit[line.end_to_end_id] |= line
        debits = list(by_debit.values())[:max(len(by_debit) - 1, 0)]
        result = []
        for reason, lines in zip(reasons, debits, strict=False):
            first = lines[0]
            known = get_reason(reason)
            result.append(ReturnedDebit(
                end_to_end_id=first.end_to_end_id,
                amount=_decimal(sum(lines.mapped("amount"))),
                reason_code=reason,
                booking_date=day,
                mandate_id=first.mandate_id.name or None,
                debtor_name=first.partner_id.name or None,
                debtor_iban=(first.amended_iban
                             or first.mandate_id.partner_bank_id.sanitized_acc_number or None),
                remittance=first.remittance or None,
                return_info=known.label if known.known else None,
                scheme=batch.scheme,
            ))
        return tuple(result)

    @api.model
    def _credit_owed(self, batch):
        """``(amount, number of debits)`` the bank still credits for ``batch``: its open
        transit (the *Expected Bank Credit* until a payment block is credited; rejects
        before settlement are reconciled with transit already) and the debits of the
        open blocks that were not rejected."""
        transit = batch._transit_lines().filtered(lambda aml: not aml.reconciled)
        amount = _decimal(sum(transit.mapped("amount_residual_currency")))
        blocks = {block for block in batch.line_ids.mapped("pmt_inf_id")
                  if any(mentions(aml.name, block) for aml in transit)}
        rejected = self.env["sepa.storno"].search([
            ("batch_id", "=", batch.id), ("state", "=", "done"),
            ("after_settlement", "=", False)]).batch_line_id.mapped("end_to_end_id")
        debits = {line.end_to_end_id for line in batch.line_ids
                  if line.pmt_inf_id in blocks} - set(rejected)
        return amount, len(debits)

    @api.model
    def _opening_balance(self, journal):
        """The balance the journal's statements reached: the sum of its posted lines."""
        [(total,)] = self.env["account.bank.statement.line"]._read_group(
            [("journal_id", "=", journal.id), ("state", "=", "posted")],
            aggregates=["amount:sum"])
        return _decimal(total or 0.0)


def _decimal(amount):
    return Decimal(f"{amount:.2f}")
