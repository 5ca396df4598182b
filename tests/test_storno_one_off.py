"""One-off mandates after a failed debit: used, or one more attempt (company setting)."""

from odoo.tests import tagged

from .test_storno_accounting import StornoCommon

IBAN_C = "NL20INGB0001234567"


@tagged("post_install", "-at_install")
class TestStornoOneOff(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner, cls.mandate = cls.create_debtor(
            "Marieke Jansen", IBAN_C, mandate_type="one_off", name="MDT-OOFF")
        cls.inv = cls.invoice(cls.partner, 45.0)
        cls.inv.sepa_mandate_id = cls.mandate

    def collect(self):
        """Send a batch with the invoice and settle it: the one-off mandate is used."""
        batch = self.create_batch(invoice_ids=[(6, 0, self.inv.ids)])
        batch.action_generate()
        batch.action_send()
        self.statement(batch.amount_total, batch.name)
        self.assertEqual(batch.state, "done")
        self.assertEqual(self.mandate.state, "closed")
        return self.line_of(batch, self.inv)

    def proposal_reason(self):
        wizard = self.propose(invoice_ids=[(6, 0, self.inv.ids)])
        line = (wizard.line_ids | wizard.excluded_line_ids).filtered(
            lambda line: line.invoice_id == self.inv)
        return line.reason, line.sequence_type

    def test_return_without_reuse_keeps_the_mandate_closed(self):
        storno = self.register(self.collect(), kind="return")
        self.assertEqual(self.mandate.state, "closed")
        storno.action_retry()
        reason, _sequence = self.proposal_reason()
        self.assertIn("closed", reason.lower())
        storno.action_cancel()
        self.assertEqual(self.mandate.state, "closed")

    def test_return_with_reuse_gives_one_more_attempt(self):
        self.company.sepa_oneoff_reuse_after_storno = True
        storno = self.register(self.collect(), kind="return")
        self.assertEqual(self.mandate.state, "active")
        storno.action_retry()
        self.assertEqual(self.proposal_reason(), (False, "OOFF"))
        # the second attempt fails too: the mandate is used for good
        second = self.register(self.collect(), kind="return")
        self.assertEqual(self.mandate.state, "closed")
        second.action_retry()
        reason, _sequence = self.proposal_reason()
        self.assertIn("closed", reason.lower())

    def test_cancelled_storno_closes_the_reused_mandate_again(self):
        self.company.sepa_oneoff_reuse_after_storno = True
        storno = self.register(self.collect(), kind="return")
        self.assertEqual(self.mandate.state, "active")
        storno.action_cancel()
        self.assertEqual(self.mandate.state, "closed")
        self.assertEqual(self.inv.payment_state, "paid")

    def test_reject_before_settlement_never_uses_the_mandate(self):
        batch = self.create_batch(invoice_ids=[(6, 0, self.inv.ids)])
        batch.action_generate()
        batch.action_send()
        storno = self.register(self.line_of(batch, self.inv), kind="reject")
        self.assertEqual(self.mandate.state, "active")
        storno.action_retry()
        self.assertEqual(self.proposal_reason(), (False, "OOFF"))
