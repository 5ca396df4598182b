"""Failed debits are not collected again until released: retry or hold."""

from odoo.tests import tagged

from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoRelease(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inv = cls.invoice(cls.recurring_partner, 30.0)

    def failed(self):
        batch = self.send_batch()
        return self.register(batch.line_ids[:1], code="AM04")

    def proposal_line(self):
        wizard = self.propose()
        return (wizard.line_ids | wizard.excluded_line_ids).filtered(
            lambda line: line.invoice_id == self.inv)

    def test_failed_invoice_not_proposed_until_released(self):
        self.failed()
        self.assertEqual(self.inv.sepa_state, "failed")
        line = self.proposal_line()
        self.assertIn("Debit failed on", line.reason)
        self.assertIn("(AM04): retry or hold", line.reason)
        self.assertFalse(line.selected)

    def test_retry_next_proposal_takes_it(self):
        storno = self.failed()
        storno.action_retry()
        self.assertEqual(self.inv.sepa_state, "to_collect")
        line = self.proposal_line()
        self.assertFalse(line.reason)
        self.assertTrue(line.selected)
        batch = self.create_batch()
        self.assertIn(self.inv, batch.line_ids.invoice_id)

    def test_hold_excluded_with_reason(self):
        storno = self.failed()
        storno.action_hold("Customer disputes the invoice")
        line = self.proposal_line()
        self.assertIn("Customer disputes the invoice", line.reason)
        self.assertIn("AM04", line.reason)
        self.assertFalse(line.selected)
        self.assertEqual(self.inv.sepa_state, "failed")
