"""The storno score of a mandate: the users' documentation's two examples."""

from odoo.tests import tagged

from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoScore(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"sepa_storno_auto_revoke": True, "sepa_storno_threshold": 3})
        cls.mandate = cls.mandate_recurring

    def fail_once(self, code="AM04", kind="reject"):
        """A new invoice of the customer collected and rejected with ``code``."""
        self.invoice(self.recurring_partner, 20.0)
        batch = self.send_batch()
        line = batch.line_ids.filtered(lambda line: line.mandate_id == self.mandate)[:1]
        return self.register(line, code=code, kind=kind)

    def succeed_once(self):
        self.invoice(self.recurring_partner, 20.0)
        batch = self.send_batch()
        self.statement(batch.amount_total, batch.name)
        self.assertEqual(batch.state, "done")
        return batch

    def test_example_1_three_am04_revoke(self):
        stornos = self.fail_once() | self.fail_once()
        self.assertEqual(self.mandate.storno_score, 2)
        self.assertEqual(self.mandate.state, "active")
        stornos |= self.fail_once()
        self.assertEqual(self.mandate.storno_score, 3)
        self.assertEqual(self.mandate.state, "revoked")
        message = self.mandate.message_ids.filtered(
            lambda m: "revoked automatically" in (m.body or ""))
        self.assertEqual(len(message), 1)
        for storno in stornos:
            self.assertIn(storno.name, message.body)
        self.assertEqual(self.mandate.storno_event_ids.sorted("id").mapped(
            lambda e: (e.kind, e.reason_code or "", e.points, e.score)), [
            ("storno", "AM04", 1, 1), ("storno", "AM04", 1, 2), ("storno", "AM04", 1, 3),
            ("revoke", "", 0, 3)])

    def test_example_2_success_resets(self):
        self.fail_once()
        self.fail_once()
        self.assertEqual(self.mandate.storno_score, 2)
        # the failed invoices are retried with the next debit, which is settled
        self.Storno.search([("mandate_id", "=", self.mandate.id)]).action_retry()
        self.succeed_once()
        self.assertEqual(self.mandate.storno_score, 0)
        self.fail_once()
        self.assertEqual(self.mandate.storno_score, 1)
        self.assertEqual(self.mandate.state, "active")
        self.assertEqual(self.mandate.storno_event_ids.sorted("id").mapped(
            lambda e: (e.kind, e.points, e.score)), [
            ("storno", 1, 1), ("storno", 1, 2), ("reset", -2, 0), ("storno", 1, 1)])

    def test_revoke_at_once_code(self):
        storno = self.fail_once(code="AC04")
        self.assertEqual(storno.points, 3)
        self.assertEqual(self.mandate.storno_score, 3)
        self.assertEqual(self.mandate.state, "revoked")

    def test_reactivation_starts_from_zero(self):
        self.fail_once(code="AC04")
        self.assertEqual(self.mandate.state, "revoked")
        self.mandate._reactivate(self.mandate.signature_date.replace(year=2026))
        self.assertEqual(self.mandate.storno_score, 0)
        self.assertEqual(self.mandate.storno_event_ids.sorted("id")[-1:].kind, "reset")

    def test_no_auto_revoke(self):
        self.company.sepa_storno_auto_revoke = False
        self.fail_once(code="MD01")
        self.assertEqual(self.mandate.storno_score, 3)
        self.assertEqual(self.mandate.state, "active")

    def test_return_after_settlement_undoes_the_reset(self):
        """Three returns of settled debits in a row: settlement reset the score each
        time, the return shows the debit was not successful after all."""
        for _i in range(3):
            batch = self.succeed_once()
            line = batch.line_ids.filtered(lambda line: line.mandate_id == self.mandate)
            self.register(line[:1], kind="return")
            self.Storno.search([("mandate_id", "=", self.mandate.id)]).action_hold("x")
        self.assertEqual(self.mandate.storno_score, 3)
        self.assertEqual(self.mandate.state, "revoked")

    def test_cancel_subtracts(self):
        self.fail_once()
        storno = self.fail_once()
        storno.action_cancel()
        self.assertEqual(self.mandate.storno_score, 1)
        self.assertEqual(self.mandate.storno_event_ids.sorted("id")[-1:].mapped(
            lambda e: (e.kind, e.points, e.score)), [("cancel", -1, 1)])

    # ------------------------------------------------------------------
    # the score is a function of the log: cancelling cannot corrupt it
    # ------------------------------------------------------------------

    def test_cancel_of_a_return_brings_the_reset_back(self):
        """Threshold 5: score 2, the next debit settles (0), it is returned for 1 point
        (the reset is undone: 3); cancelling that return gives 0 again, not 2."""
        self.company.sepa_storno_threshold = 5
        self.fail_once()
        self.fail_once()
        self.assertEqual(self.mandate.storno_score, 2)
        batch = self.succeed_once()
        self.assertEqual(self.mandate.storno_score, 0)
        line = batch.line_ids.filtered(lambda line: line.mandate_id == self.mandate)[:1]
        storno = self.register(line, kind="return")
        self.assertEqual(self.mandate.storno_score, 3)
        storno.action_cancel()
        self.assertEqual(self.mandate.storno_score, 0)
        self.assertEqual(self.mandate.storno_event_ids.sorted("id")[-1:].mapped(
            lambda e: (e.kind, e.storno_id, e.points, e.score)), [("cancel", storno, -3, 0)])

    def test_cancel_of_a_storno_before_a_reset_keeps_the_later_ones(self):
        """Storno A (2 points), a debit settled (reset), storno B (2 points): A no longer
        counts, so cancelling it leaves B's 2 points."""
        self.company.sepa_storno_threshold = 5
        storno_a = self.fail_once(code="MS02")
        self.succeed_once()
        self.assertEqual(self.mandate.storno_score, 0)
        self.fail_once(code="MS02")
        self.assertEqual(self.mandate.storno_score, 2)
        storno_a.action_cancel()
        self.assertEqual(self.mandate.storno_score, 2)
        self.assertEqual(self.mandate.storno_event_ids.sorted("id")[-1:].mapped(
            lambda e: (e.kind, e.points, e.score)), [("cancel", 0, 2)])

    def test_cancel_under_the_threshold_keeps_the_revocation(self):
        """The storno that revoked the mandate is cancelled: the score goes back, the
        revocation stays (reactivate the mandate if it should collect again)."""
        self.fail_once()
        self.fail_once()
        storno = self.fail_once()
        self.assertEqual(self.mandate.state, "revoked")
        storno.action_cancel()
        self.assertEqual(self.mandate.storno_score, 2)
        self.assertEqual(self.mandate.state, "revoked")

    def test_refund_of_an_older_debit_after_a_newer_one_settled(self):
        """A refund (eight weeks) of a debit settled before the last settled one: the
        score counts the refund only; the stornos before both settlements stay reset."""
        self.company.sepa_storno_threshold = 5
        self.fail_once(code="MS02")
        older = self.succeed_once()
        self.assertEqual(self.mandate.storno_score, 0)
        self.succeed_once()
        line = older.line_ids.filtered(lambda line: line.mandate_id == self.mandate)[:1]
        self.register(line, code="MD06", kind="refund")
        self.assertEqual(self.mandate.storno_score, 2)
        self.assertEqual(self.mandate.state, "active")
