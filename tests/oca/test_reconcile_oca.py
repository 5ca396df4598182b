"""OCA's reconciliation screen (account_reconcile_oca) next to the addon: returned debits
the addon did not recognise on import, reconciled by hand the way the screen does it
(the form ``bank_statement_line_form_reconcile_view``: pick an open item with
``add_account_move_line_id``, click a proposed line (``manual_reference``) to edit it,
then the Reconcile button, ``reconcile_bank_line``)."""

import base64

from odoo.tests import Form, tagged

from ..test_return_import import camt054, entry, return_tx
from .common import OcaCommon, camt053

RECONCILE_VIEW = "account_reconcile_oca.bank_statement_line_form_reconcile_view"


class ReconcileOcaCommon(OcaCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The screen's JavaScript widget writes manual_reference when the user clicks a
        # proposed line; Form only writes visible fields (as OCA's own tests do).
        cls.env["ir.ui.view"].create({
            "name": "sepa test: manual_reference visible",
            "model": "account.bank.statement.line",
            "inherit_id": cls.env.ref(RECONCILE_VIEW).id,
            "arch": '<field name="manual_reference" position="attributes">'
                    '<attribute name="invisible">0</attribute></field>',
        })

    def unrecognised_return(self, debit):
        """The bank debits ``debit`` back; its camt.053 gives no end-to-end id
        (NOTPROVIDED), so nothing recognises the line on import."""
        data = camt053([self.returned_debit(debit, end_to_end_id=False)], 0.0, "STMT-R",
                       self.today())
        [st_line] = self.import_statement(data, "return.xml")
        self.assertEqual(st_line.amount, -debit.amount)
        self.assertFalse(st_line.is_reconciled)
        return st_line

    def assert_reopened(self, storno, st_line):
        self.assertTrue(st_line.is_reconciled)
        self.assertRecordValues(self.inv_recurring, [{
            "amount_residual": 30.0, "payment_state": "not_paid", "sepa_state": "failed"}])
        self.assertEqual(storno.move_id.state, "posted")
        self.assertAlmostEqual(sum(storno.move_id.line_ids.mapped("balance")), 0.0)
        self.assertAlmostEqual(sum(st_line.move_id.line_ids.mapped("balance")), 0.0)


@tagged("post_install", "-at_install")
class TestReconcileOca(ReconcileOcaCommon):
    def test_return_file_first_then_bank_debit_reconciled_by_hand(self):
        batch = self.send_batch()
        self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        self.assertEqual(batch.state, "done")
        debit = self.line_of(batch, self.inv_recurring)
        # The bank's return file (camt.054) comes first: the storno is registered and its
        # amount waits on the outstanding account for the bank's debit.
        data = camt054([entry([return_tx(debit.end_to_end_id, 30.0, "AM04", ref="TX-R1")],
                              30.0, "RTN-1")])
        wizard = self.env["sepa.return.import"].create({
            "data_file": base64.b64encode(data), "filename": "returns.xml"})
        wizard.action_preview()
        storno = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        self.assertRecordValues(storno, [{"state": "done", "source": "file"}])
        outstanding = storno.move_id.line_ids.filtered(
            lambda aml: aml.balance < 0 and not aml.reconciled and aml.account_id.reconcile)
        self.assertEqual(len(outstanding), 1)
        # The bank's debit (no id) is reconciled in OCA's screen with that open item.
        st_line = self.unrecognised_return(debit)
        with Form(st_line, view=RECONCILE_VIEW) as form:
            form.add_account_move_line_id = outstanding
            self.assertTrue(form.can_reconcile)
        st_line.reconcile_bank_line()
        self.assertTrue(outstanding.reconciled)
        self.assertEqual(self.env["sepa.storno"].search(
            [("batch_line_id", "in", batch.line_ids.ids)]), storno)
        self.assertEqual(storno.statement_line_id, st_line)
        self.assert_reopened(storno, st_line)

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
