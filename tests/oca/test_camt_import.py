"""OCA's camt.053 import (account_statement_import_camt) next to the addon: a user
uploads the bank's statements; the batch settles, a returned debit becomes a storno."""

from odoo.tests import tagged

from .common import OcaCommon


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
