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
        # held, not undecided: the invoice says so (it said "Failed")
        self.assertEqual(self.inv.sepa_state, "on_hold")
        self.assertEqual(self.inv.sepa_storno_hold_note, "Customer disputes the invoice")

    def test_register_by_hand_on_a_batch_line(self):
        batch = self.send_batch()
        action = batch.line_ids[:1].action_register_storno()
        wizard = self.env["sepa.storno.register"].with_context(action["context"]).create({
            "reason_id": self.env.ref("sepa_direct_debit.return_reason_ms02").id})
        self.assertEqual(wizard.kind, "reject")
        result = wizard.action_register()
        storno = self.env["sepa.storno"].browse(result["res_id"])
        self.assertRecordValues(storno, [{"kind": "reject", "reason_code": "MS02",
                                          "source": "manual", "state": "done"}])
        self.assertEqual(self.inv.sepa_state, "failed")
        self.assertEqual(self.mandate_recurring.storno_score, 2)

    def test_failed_debits_views_load(self):
        Storno = self.env["sepa.storno"]
        for view_type in ("list", "form", "search", "graph", "pivot"):
            Storno.get_view(view_type=view_type)
        self.failed()
        groups = Storno.read_group([], ["amount:sum"], ["reason_id", "date:month"],
                                   lazy=False)
        self.assertEqual(groups[0]["amount"], 30.0)
