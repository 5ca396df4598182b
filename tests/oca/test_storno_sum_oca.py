"""One bank debit for several returns through OCA's camt.053 import: the bank's return
file (camt.054) was imported first, then the statement books both returns as ONE batch
entry without transaction details. The line is reconciled with both stornos on import."""

import base64

from odoo.tests import tagged

from ..test_return_import import camt054, entry, return_tx
from .common import Entry, OcaCommon, camt053


@tagged("post_install", "-at_install")
class TestStornoSumOca(OcaCommon):
    def test_batched_return_entry_after_the_return_file(self):
        batch = self.send_batch()
        self.import_statement(self.settlement_statement(batch), "stmt-1.xml")
        self.assertEqual(batch.state, "done")
        debits = self.line_of(batch, self.inv_first) | self.line_of(batch, self.inv_recurring)
        data = camt054([entry([return_tx(debit.end_to_end_id, debit.amount, "AM04",
                                         ref=f"TX-R{index}")
                               for index, debit in enumerate(debits)],
                              130.0, "RTN-1", day=self.today())], msg_id="NTF-OCA-1")
        wizard = self.env["sepa.return.import"].create({
            "data_file": base64.b64encode(data), "filename": "returns.xml"})
        wizard.action_preview()
        stornos = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        self.assertEqual(len(stornos), 2)
        self.assertEqual(set(stornos.mapped("return_msg_id")), {"NTF-OCA-1"})
        # the statement: both returns in one batch booking, the bank's own reference
        data = camt053([Entry(amount=130.0, credit=False, bank_ref="BNK-RS",
                              batch="BNK-RTN-BATCH-7", transactions=2,
                              entry_info="SEPA Incasso stornos", family=("RDDT", "UPDD"))],
                       130.0, "STMT-2", self.today())
        [st_line] = self.import_statement(data, "stmt-2.xml")
        self.assertEqual(st_line.amount, -130.0)
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(stornos.statement_line_id, st_line)
        self.assertEqual(self.env["sepa.storno"].search(
            [("batch_line_id", "in", batch.line_ids.ids)]), stornos)
        counterpart = st_line.move_id.line_ids.filtered(
            lambda aml: aml.account_id != self.bank_journal.default_account_id)
        self.assertEqual(counterpart.full_reconcile_id.reconciled_line_ids.move_id,
                         st_line.move_id | stornos.move_id)
        self.assertRecordValues(self.inv_first | self.inv_recurring, [
            {"amount_residual": 100.0, "payment_state": "not_paid", "sepa_state": "failed"},
            {"amount_residual": 30.0, "payment_state": "not_paid", "sepa_state": "failed"}])
