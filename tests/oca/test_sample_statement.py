"""The demo's sample bank statement (``Download a sample bank statement`` on a sent
batch) imported through OCA's statement import, as a demo user does: the batch settles
and exactly its two returned debits are registered."""

from odoo.tests import tagged

from ...sepa.readers import read_message
from ..common import IBAN_C
from .common import OcaCommon


@tagged("post_install", "-at_install")
class TestSampleStatement(OcaCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.third_partner, cls.mandate_third = cls.create_debtor(
            "Piet Jansen", IBAN_C, sequence_type="recurring", name="MDT-THIRD")
        cls.inv_third = cls.invoice(cls.third_partner, 45.5)
        # a database installed with demo data (the test database has none)
        cls.env.ref("base.module_sepa_direct_debit").sudo().demo = True

    def test_sample_statement_settles_the_batch_and_registers_two_returns(self):
        batch = self.send_batch()
        self.assertTrue(batch.demo_mode)
        self.assertEqual(batch.debit_count, 3)
        expected_credit = batch.bank_credit_amount
        self.assertEqual(expected_credit, 175.5)
        filename, data = self.env["sepa.sample.statement"]._statement_file(batch)
        self.assertEqual(filename, f"camt053-sample-{batch.name}.xml")
        # what the file says, read with the toolkit: the credit and the first two debits
        debits = batch.line_ids.sorted("debit_number")
        returned, kept = debits[:2], debits[2]
        credit, *returns = read_message(data).transactions
        self.assertEqual((credit.kind, credit.msg_id, float(credit.amount)),
                         ("credit", batch.name, expected_credit))
        self.assertEqual([(tx.kind, tx.end_to_end_id, tx.reason_code) for tx in returns], [
            ("return", returned[0].end_to_end_id, "AM04"),
            ("refund", returned[1].end_to_end_id, "MD06")])

        lines = self.import_statement(data, filename)
        self.assertEqual(sorted(lines.mapped("amount")),
                         sorted([expected_credit, -returned[0].amount, -returned[1].amount]))
        self.assertTrue(all(lines.mapped("is_reconciled")))
        statement = lines.statement_id
        self.assertAlmostEqual(statement.balance_end_real, statement.balance_end)
        # the credit is reconciled with the batch's transit: the batch is settled
        credit_line = lines.filtered(lambda line: line.amount > 0)
        transit = batch._transit_lines()
        self.assertTrue(all(transit.mapped("reconciled")))
        credit_counterpart = credit_line.move_id.line_ids.filtered(
            lambda aml: aml.account_id == transit.account_id)
        self.assertEqual(credit_counterpart.full_reconcile_id, transit.full_reconcile_id)
        self.assertRecordValues(batch, [{
            "state": "done", "settled_date": batch.collection_date_last}])
        # exactly the two returned debits are failed debits, from the statement
        stornos = self.env["sepa.storno"].search([("batch_id", "=", batch.id)])
        self.assertRecordValues(stornos.sorted(lambda s: s.batch_line_id.debit_number), [
            {"batch_line_id": returned[0].id, "reason_code": "AM04", "kind": "return",
             "source": "statement", "state": "done", "amount": returned[0].amount},
            {"batch_line_id": returned[1].id, "reason_code": "MD06", "kind": "refund",
             "source": "statement", "state": "done", "amount": returned[1].amount},
        ])
        self.assertEqual(stornos.statement_line_id, lines.filtered(lambda line: line.amount < 0))
        self.assertEqual(set(returned.invoice_id.mapped("payment_state")), {"not_paid"})
        self.assertEqual(set(returned.invoice_id.mapped("sepa_state")), {"failed"})
        self.assertRecordValues(kept.invoice_id, [{
            "payment_state": "paid", "sepa_state": "collected"}])
        self.assertEqual(batch.storno_count, 2)

    def test_sample_after_a_reject_credits_what_the_bank_still_owes(self):
        """A debit rejected before settlement (registered while the batch is sent): the
        sample's credit is the Expected Bank Credit without it, and it is not returned
        again; imported, the batch settles and the one return is registered."""
        batch = self.send_batch()
        debits = batch.line_ids.sorted("debit_number")
        rejected = debits[0]
        self.env["sepa.storno"].register([{
            "batch_line_id": rejected.id, "reason_code": "AC04", "kind": "reject",
            "date": self.today(), "source": "manual"}])
        self.assertEqual(batch.bank_credit_amount, 175.5 - rejected.amount)
        filename, data = self.env["sepa.sample.statement"]._statement_file(batch)
        credit, *returns = read_message(data).transactions
        self.assertEqual((float(credit.amount), credit.nb_of_txs),
                         (batch.bank_credit_amount, 2))
        self.assertEqual([(tx.end_to_end_id, tx.reason_code) for tx in returns],
                         [(debits[1].end_to_end_id, "AM04")])
        lines = self.import_statement(data, filename)
        self.assertTrue(all(lines.mapped("is_reconciled")))
        self.assertEqual(batch.state, "done")
        stornos = self.env["sepa.storno"].search([("batch_id", "=", batch.id)])
        self.assertEqual(sorted(stornos.mapped("reason_code")), ["AC04", "AM04"])
        self.assertRecordValues(debits[2].invoice_id, [{"payment_state": "paid"}])
