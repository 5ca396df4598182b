"""Cancelling a storno restores the state before it: what the control after
reconciliation did because of it, and what the batch's settlement did not do because
the debit had failed."""

from odoo import fields
from odoo.tests import tagged

from .common import IBAN_B, IBAN_C, IBAN_D
from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoCancel(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Control = cls.env["sepa.control"]
        cls.company.sepa_storno_threshold = 10

    def process_control(self, batch, **values):
        control = self.Control.browse(self.Control._action_open(batch)["res_id"])
        control.line_ids.write(values)
        control.action_process()
        return control

    def test_cancel_puts_an_invoice_taken_out_of_direct_debit_back(self):
        invoice = self.invoice(self.recurring_partner, 30.0)
        batch = self.send_batch()
        storno = self.register(self.line_of(batch, invoice), kind="reject")
        self.process_control(batch, release="out", hold_note="Pays by transfer")
        self.assertRecordValues(invoice, [{"sepa_hold": True, "sepa_state": "on_hold"}])
        storno.action_cancel()
        self.assertRecordValues(invoice, [{
            "sepa_hold": False, "sepa_hold_reason": False, "sepa_state": "in_batch",
            "payment_state": "in_payment"}])

    def test_cancel_restores_the_sequence_type_before_the_control(self):
        """The first debit is rejected, the control sets Recurring: cancelling the
        reject gives the mandate back the choice it had (First, set by hand)."""
        mandate = self.mandate_first
        mandate.sequence_type_override = "first"
        invoice = self.invoice(self.debtor, 100.0)
        batch = self.send_batch()
        storno = self.register(self.line_of(batch, invoice), kind="reject")
        self.process_control(batch, sequence_type="recurring")
        self.assertEqual(mandate.sequence_type_override, "recurring")
        storno.action_cancel()
        self.assertEqual(mandate.sequence_type_override, "first")
        # without a choice before: none after
        mandate.sequence_type_override = False
        storno = self.register(self.line_of(batch, invoice), kind="reject")
        self.process_control(batch, sequence_type="recurring")
        storno.action_cancel()
        self.assertFalse(mandate.sequence_type_override)
        self.assertEqual(mandate.sequence_type, "first")

    def test_cancel_after_the_batch_settled_collects_the_debit(self):
        """Bank debits return two debits of a batch not settled yet; the bank's credit
        then settles the batch without them. Their stornos are cancelled (the bank's
        debits were someone else's): the debits were collected after all, with what the
        settlement does for a collected debit: last debit date, override done with,
        amendment reported, one-off mandate used, score reset (at the settlement: a
        storno registered since still counts)."""
        mandate = self.mandate_recurring
        self.assertEqual(mandate.sequence_type_override, "recurring")
        # a reject first (1 point), held
        self.invoice(self.recurring_partner, 20.0)
        earlier = self.send_batch()
        self.register(earlier.line_ids, kind="reject").action_hold("Disputed")
        self.assertEqual(mandate.storno_score, 1)
        # the customer's account changed: the next debit reports it
        mandate.partner_bank_id = self.env["res.partner.bank"].create({
            "acc_number": IBAN_C, "partner_id": self.recurring_partner.id})
        self.assertEqual(mandate.original_iban, IBAN_B.replace(" ", ""))
        partner, one_off = self.create_debtor(
            "Marieke Jansen", IBAN_D, mandate_type="one_off", name="MDT-OOFF")
        inv_one_off = self.invoice(partner, 45.0)
        inv_one_off.sepa_mandate_id = one_off
        inv_recurring = self.invoice(self.recurring_partner, 30.0)
        batch = self.send_batch()
        self.assertEqual(batch.line_ids.invoice_id, inv_recurring | inv_one_off)
        StLine = self.env["account.bank.statement.line"]
        st_lines = StLine.create([{
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "amount": -invoice.amount_total,
            "payment_ref": f"{self.line_of(batch, invoice).end_to_end_id} AM04"}
            for invoice in (inv_recurring, inv_one_off)])
        stornos = self.Storno.search([("statement_line_id", "in", st_lines.ids)])
        self.assertEqual(len(stornos), 2)
        self.assertEqual(mandate.storno_score, 2)
        self.assertEqual(one_off.state, "closed")
        self.statement(75.0, batch.name)
        self.assertEqual(batch.state, "done")
        self.assertRecordValues(mandate, [{
            "last_debit_date": False, "sequence_type_override": "recurring",
            "is_amended": True, "storno_score": 2}])
        # a later debit is rejected: 1 point more
        self.invoice(self.recurring_partner, 25.0)
        later = self.send_batch()
        self.register(later.line_ids, kind="reject")
        self.assertEqual(mandate.storno_score, 3)
        # the bank's debits were not returns: undone, then the stornos cancelled
        for st_line in st_lines:
            st_line.action_undo_reconciliation()
        stornos.action_cancel()
        line = self.line_of(batch, inv_recurring)
        self.assertEqual(line.state, "collected")
        self.assertRecordValues(inv_recurring | inv_one_off, [
            {"payment_state": "paid", "sepa_state": "collected"}] * 2)
        self.assertRecordValues(mandate, [{
            "last_debit_date": line.collection_date, "sequence_type_override": False,
            "sequence_type": "recurring", "original_iban": False, "is_amended": False,
            "storno_score": 1}])
        self.assertEqual(one_off.state, "closed")
        resets = mandate.storno_event_ids.filtered(lambda event: event.kind == "reset")
        self.assertEqual(resets.batch_id, batch)
