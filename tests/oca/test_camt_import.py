"""OCA's camt.053 import (account_statement_import_camt) next to the addon: a user
uploads the bank's statements; the batch settles, a returned debit becomes a storno."""

from odoo.tests import tagged

from .common import Entry, OcaCommon, camt053


@tagged("post_install", "-at_install")
class TestCamtImport(OcaCommon):
    def test_batch_bookings_settle_the_batch(self):
        batch = self.send_batch()
        lines = self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        self.assertEqual(len(lines), 2)
        self.assertEqual(sorted(lines.mapped("amount")), [30.0, 100.0])
        self.assertTrue(all(lines.mapped("is_reconciled")))
        self.assertEqual(batch.state, "done")
        self.assertFalse(batch._transit_lines().filtered(lambda aml: not aml.reconciled))
        invoices = self.inv_first | self.inv_recurring
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"collected"})

    def test_returned_debit_in_the_next_statement_is_a_storno(self):
        batch = self.send_batch()
        self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        self.assertEqual(batch.state, "done")
        # the bank debits the recurring debit back a few days later (AM04)
        debit = self.line_of(batch, self.inv_recurring)
        data = camt053([self.returned_debit(debit)], 130.0, "STMT-2", self.today())
        [st_line] = self.import_statement(data, "stmt-2.xml")
        self.assertEqual(st_line.amount, -30.0)
        storno = self.env["sepa.storno"].search([("batch_line_id", "=", debit.id)])
        self.assertRecordValues(storno, [{
            "state": "done", "reason_code": "AM04", "source": "statement", "amount": 30.0,
            "statement_line_id": st_line.id, "partner_id": self.recurring_partner.id,
            "mandate_id": self.mandate_recurring.id,
            "reason_id": self.env.ref("sepa_direct_debit.return_reason_am04").id}])
        self.assertEqual(storno.kind, "return")
        self.assertTrue(st_line.is_reconciled)
        self.assertRecordValues(self.inv_recurring, [{
            "amount_residual": 30.0, "payment_state": "not_paid", "sepa_state": "failed"}])
        # the other debit stays collected, every entry balanced, the batch settled
        self.assertRecordValues(self.inv_first, [{"payment_state": "paid"}])
        self.assertEqual(storno.move_id.state, "posted")
        self.assertAlmostEqual(sum(storno.move_id.line_ids.mapped("balance")), 0.0)
        self.assertEqual(batch.state, "done")

    def test_another_creditors_debit_in_the_statement_is_not_a_storno(self):
        """The federation collects its dues from our account (PMNT-RDDT-ESDD, a direct
        debit collected FROM us) with an end-to-end id that is also our member's debit's;
        in the same statement the member's real return (PMNT-RDDT-UPDD). Only the return
        becomes a storno; the federation's debit stays open, the reason in its chatter."""
        batch = self.send_batch()
        self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        debit = self.line_of(batch, self.inv_recurring)
        federation = Entry(
            amount=500.0, credit=False, bank_ref="BNK-F1", end_to_end_id=debit.end_to_end_id,
            mandate="BOND-0042", remittance="Contributie 2027", entry_info="SEPA Incasso",
            creditor=("Sportbond", "NL91ABNA0417164300"), family=("RDDT", "ESDD"))
        data = camt053([federation, self.returned_debit(debit)], 130.0, "STMT-2", self.today())
        dues, returned = self.import_statement(data, "stmt-2.xml")
        self.assertEqual((dues.amount, returned.amount), (-500.0, -30.0))
        self.assertEqual(dues.transaction_type, "PMNT-RDDT-ESDD")
        self.assertFalse(dues.is_reconciled)
        self.assertFalse(self.env["sepa.storno"].search([("statement_line_id", "=", dues.id)]))
        [note] = dues.move_id.message_ids.filtered(
            lambda message: "Not registered as a storno" in (message.body or ""))
        self.assertIn("PMNT-RDDT-ESDD", note.body)
        storno = self.env["sepa.storno"].search([("batch_line_id", "=", debit.id)])
        self.assertRecordValues(storno, [{"statement_line_id": returned.id, "amount": 30.0,
                                          "charge_amount": 0.0, "reason_code": "AM04"}])
        self.assertTrue(returned.is_reconciled)
        self.assertRecordValues(self.inv_recurring, [{"payment_state": "not_paid"}])
        self.assertRecordValues(self.inv_first, [{"payment_state": "paid"}])
        for move in dues.move_id | returned.move_id | storno.move_id:
            self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0)
