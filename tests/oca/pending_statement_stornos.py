"""PENDING: the storno recognition of bank statement lines (helper ST, branch wt-st) is
not merged yet. These tests fail without it; the file is not named test_*.py, so pytest
does not collect it and `make test` does not run it. Once wt-st is merged they move into
test_camt_import.py and test_reconcile_oca.py. Run by hand:
    tools/dev.sh oca-tests DB tests/oca/pending_statement_stornos.py
"""

from odoo.tests import Form, tagged

from .common import OcaCommon, camt053
from .test_reconcile_oca import RECONCILE_VIEW, ReconcileOcaCommon


@tagged("post_install", "-at_install")
class TestCamtImportStorno(OcaCommon):
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


@tagged("post_install", "-at_install")
class TestReconcileOcaStorno(ReconcileOcaCommon):
    def test_unrecognised_return_reconciled_with_the_batch_entry(self):
        batch = self.send_batch()
        debit = self.line_of(batch, self.inv_recurring)
        st_line = self.unrecognised_return(debit)
        Storno = self.env["sepa.storno"]
        self.assertFalse(Storno.search([("batch_line_id", "in", batch.line_ids.ids)]))
        # The bank's credit of the batch has not been imported yet: the transit line of
        # the debit's payment block is the batch entry's open item. The user picks it;
        # OCA proposes to credit it (-30), the user sets the amount the bank took (+30).
        transit = batch._transit_lines().filtered(
            lambda aml: debit.pmt_inf_id in aml.name and not aml.reconciled)
        self.assertEqual(len(transit), 1)
        with Form(st_line, view=RECONCILE_VIEW) as form:
            form.add_account_move_line_id = transit
            form.manual_reference = f"account.move.line;{transit.id}"
            self.assertEqual(form.manual_amount, -30.0)
            form.manual_amount = 30.0
            self.assertTrue(form.can_reconcile)
        st_line.reconcile_bank_line()
        # the reconciliation hook registered the storno (reason from the line's details)
        storno = Storno.search([("batch_line_id", "=", debit.id)])
        self.assertRecordValues(storno, [{
            "state": "done", "reason_code": "AM04", "source": "statement", "amount": 30.0,
            "statement_line_id": st_line.id, "mandate_id": self.mandate_recurring.id,
            "reason_id": self.env.ref("sepa_direct_debit.return_reason_am04").id}])
        self.assert_reopened(storno, st_line)
        # The bank's credits of the batch arrive: it settles, the failed invoice stays open.
        self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        self.assertEqual(batch.state, "done")
        self.assertRecordValues(self.inv_first | self.inv_recurring, [
            {"payment_state": "paid", "sepa_state": "collected"},
            {"payment_state": "not_paid", "sepa_state": "failed"}])
