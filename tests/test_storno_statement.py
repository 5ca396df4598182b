"""Stornos from bank statement lines: a bank debit that carries a debit's end-to-end id
is registered and reconciled when created, by "Match Bank Statements", and when a user
reconciles it by hand with the batch entry or the customer's receivable."""

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoStatement(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()
        cls.StLine = cls.env["account.bank.statement.line"]
        # the batch of the three invoices, sent: made once, each test is rolled back
        cls.batch = cls.send_batch()

    # helpers

    def bank_debit(self, amount, skip=False, **values):
        model = self.StLine.with_context(sepa_skip_match=True) if skip else self.StLine
        return model.create({
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "amount": -amount, **values})

    def settled_batch(self):
        batch = self.batch
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        return batch

    def storno_of(self, st_line):
        return self.Storno.search([("statement_line_id", "=", st_line.id)])

    def e2e(self, batch, invoice):
        return self.line_of(batch, invoice).end_to_end_id

    def counterpart_lines(self, st_line):
        return st_line.move_id.line_ids.filtered(
            lambda aml: aml.account_id != self.bank_journal.default_account_id)

    def receivable_owed(self, partner):
        """What the customer owes: the open residual of its receivable lines."""
        amls = self.env["account.move.line"].search([
            ("partner_id", "=", partner.id), ("parent_state", "=", "posted"),
            ("account_id.account_type", "=", "asset_receivable")])
        return sum(amls.mapped("amount_residual"))

    def assert_reconciled(self, st_line):
        self.assertTrue(st_line.is_reconciled)
        counterparts = self.counterpart_lines(st_line)
        self.assertTrue(counterparts)
        self.assertTrue(all(counterparts.mapped("reconciled")), counterparts.mapped("name"))

    def assert_recurring_returned_with_charge(self, storno, st_line):
        """The recurring customer's 30.00 debit returned by a bank debit of 32.50: the
        entry books the 2.50 charge, the line is reconciled, the invoice open again and
        owed once."""
        self.assert_balanced(storno.move_id)
        expense = self.company.sepa_storno_charge_account_id
        self.assertAlmostEqual(sum(storno.move_id.line_ids.filtered(
            lambda aml: aml.account_id == expense).mapped("balance")), 2.5)
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertAlmostEqual(self.receivable_owed(self.recurring_partner), 30.0)

    def assert_failed(self, invoice, residual):
        self.assertRecordValues(invoice, [{
            "amount_residual": residual, "payment_state": "not_paid", "sepa_state": "failed"}])

    # ------------------------------------------------------------------
    # recognised when the line is created
    # ------------------------------------------------------------------

    def test_return_in_label_registered_and_reconciled(self):
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(30.0, payment_ref=f"STORNO {e2e} REDEN MS02 Jan de Vries")
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{
            "state": "done", "source": "statement", "kind": "return", "amount": 30.0,
            "reason_code": "MS02", "charge_amount": 0.0, "batch_id": batch.id,
            "end_to_end_id": e2e, "mandate_id": self.mandate_recurring.id,
            "date": st_line.date, "booking_date": st_line.date}])
        self.assertEqual(storno.reason_id, self.env.ref("sepa_direct_debit.return_reason_ms02"))
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertEqual(self.line_of(batch, self.inv_recurring).state, "failed")
        self.assert_balanced(storno.move_id)
        self.assert_reconciled(st_line)
        # the bank's debit is reconciled with the storno's outstanding credit
        outstanding = self.company._sepa_storno_account(self.bank_journal)
        counterpart = self.counterpart_lines(st_line)
        self.assertEqual(counterpart.account_id, outstanding)
        self.assertEqual(counterpart.full_reconcile_id.reconciled_line_ids.move_id,
                         st_line.move_id | storno.move_id)
        self.assertAlmostEqual(self.receivable_owed(self.recurring_partner), 30.0)
        # the other debits stay collected
        self.assertEqual(self.inv_first_1.payment_state, "paid")

    def test_end_to_end_id_in_transaction_details_only(self):
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_first_2)
        st_line = self.bank_debit(150.25, payment_ref="Terugboeking incasso", transaction_details={
            "TxDtls": {"Refs": {"EndToEndId": e2e, "MndtId": "MDT-FIRST"},
                       "RtrInf": {"Rsn": {"Cd": "AC04"}}}})
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{"amount": 150.25, "reason_code": "AC04",
                                          "kind": "return", "source": "statement"}])
        # the whole merged debit failed
        self.assertEqual(storno.invoice_ids, self.inv_first_1 | self.inv_first_2)
        self.assert_failed(self.inv_first_1, 100.0)
        self.assert_failed(self.inv_first_2, 50.25)
        self.assert_reconciled(st_line)
        self.assertAlmostEqual(self.receivable_owed(self.debtor), 150.25)

    def test_oca_camt_notes_and_refund(self):
        """What OCA's account_statement_import_camt writes: the end-to-end id in the
        reference, the reason in the notes; MD06 is a refund."""
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(30.0, payment_ref="/", ref=e2e, narration=(
            "<p>Partner Name (RltdPties/Nm): Jan de Vries<br>"
            "Return Reason Code (RtrInf/Rsn/Cd): MD06<br>"
            f"End To End Id (Refs/EndToEndId): {e2e}</p>"))
        self.assertRecordValues(self.storno_of(st_line), [
            {"reason_code": "MD06", "kind": "refund"}])
        self.assert_reconciled(st_line)

    def test_unknown_reason(self):
        batch = self.settled_batch()
        st_line = self.bank_debit(30.0, payment_ref=f"Retour {self.e2e(batch, self.inv_recurring)}")
        storno = self.storno_of(st_line)
        self.assertEqual(storno.reason_code, "NONE")
        self.assertFalse(storno.reason_id.known)
        self.assertIn("to complete", storno.reason_id.name)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assert_reconciled(st_line)

    def test_bank_charge_is_the_difference(self):
        batch = self.settled_batch()
        st_line = self.bank_debit(
            32.5, payment_ref=f"{self.e2e(batch, self.inv_recurring)} AM04 incl. kosten")
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [
            {"amount": 30.0, "charge_amount": 2.5, "reason_code": "AM04"}])
        self.assert_recurring_returned_with_charge(storno, st_line)

    def test_bank_debit_smaller_than_the_debit_is_not_a_storno(self):
        batch = self.settled_batch()
        st_line = self.bank_debit(20.0, payment_ref=self.e2e(batch, self.inv_recurring))
        self.assertFalse(self.storno_of(st_line))
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_return_of_a_sent_batch_keeps_transit_for_the_full_credit(self):
        """A bank debit is a return even before the batch's credit is matched: the bank
        credits the full amount (transit stays open for it) and debits the return."""
        batch = self.batch
        st_line = self.bank_debit(30.0, payment_ref=self.e2e(batch, self.inv_recurring))
        storno = self.storno_of(st_line)
        self.assertEqual(storno.kind, "return")
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        self.assertAlmostEqual(self.transit_residual(batch), 0.0)
        self.assertEqual(self.inv_first_1.payment_state, "paid")
        self.assert_failed(self.inv_recurring, 30.0)

    def test_several_lines_in_one_create(self):
        batch = self.settled_batch()
        lines = self.StLine.create([{
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "amount": -amount, "payment_ref": f"{self.e2e(batch, invoice)} AM04"}
            for amount, invoice in ((30.0, self.inv_recurring), (150.25, self.inv_first_1))])
        self.assertEqual(len(self.Storno.search([("statement_line_id", "in", lines.ids)])), 2)
        self.assertTrue(all(lines.mapped("is_reconciled")))
        self.assert_failed(self.inv_recurring, 30.0)
        self.assert_failed(self.inv_first_2, 50.25)

    # ------------------------------------------------------------------
    # nothing for what only looks like it
    # ------------------------------------------------------------------

    def test_similar_end_to_end_id_is_not_matched(self):
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        for text in (f"{e2e}0", f"{e2e}-1", f"X{e2e}"):
            st_line = self.bank_debit(30.0, payment_ref=f"STORNO {text} AM04")
            self.assertFalse(self.storno_of(st_line), text)
            self.assertFalse(st_line.is_reconciled)
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_bank_credit_is_not_a_storno(self):
        batch = self.settled_batch()
        st_line = self.statement(30.0, f"{self.e2e(batch, self.inv_recurring)} AM04")
        self.assertFalse(self.storno_of(st_line))
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_other_company_batch_is_not_matched(self):
        batch = self.settled_batch()
        other = self.setup_other_company()["company"]
        journal = self.env["account.journal"].with_company(other).search(
            [("type", "=", "bank"), ("company_id", "=", other.id)], limit=1)
        st_line = self.StLine.with_company(other).create({
            "journal_id": journal.id, "date": fields.Date.today(), "amount": -30.0,
            "payment_ref": f"{self.e2e(batch, self.inv_recurring)} AM04"})
        self.assertFalse(self.storno_of(st_line))
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    # ------------------------------------------------------------------
    # Match Bank Statements, already registered
    # ------------------------------------------------------------------

    def test_match_bank_statements_registers_skipped_line(self):
        batch = self.settled_batch()
        st_line = self.bank_debit(30.0, skip=True,
                                  payment_ref=f"{self.e2e(batch, self.inv_recurring)} AM04")
        self.assertFalse(self.storno_of(st_line))
        self.assertEqual(self.inv_recurring.payment_state, "paid")
        batch.action_match_statements()
        self.assertEqual(self.storno_of(st_line).reason_code, "AM04")
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_recurring, 30.0)

    def test_match_bank_statements_without_any_line_says_so(self):
        batch = self.settled_batch()
        self.bank_debit(30.0, skip=True, payment_ref="Storno zonder kenmerk")
        with self.assertRaisesRegex(UserError, "No bank statement line matches"):
            batch.action_match_statements()
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_refused_line_does_not_stop_the_import(self):
        """A storno that cannot be registered (a charge, no charges account) leaves its
        line to reconcile by hand; the other lines of the import are registered."""
        self.company.sepa_storno_charge_account_id = False
        batch = self.settled_batch()
        lines = self.StLine.create([{
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "amount": -amount, "payment_ref": f"{self.e2e(batch, invoice)} AM04"}
            for amount, invoice in ((32.5, self.inv_recurring), (150.25, self.inv_first_1))])
        self.assertFalse(self.storno_of(lines[0]))
        self.assertFalse(lines[0].is_reconciled)
        self.assertEqual(self.inv_recurring.payment_state, "paid")
        self.assertEqual(self.storno_of(lines[1]).amount, 150.25)
        self.assert_reconciled(lines[1])
        self.assert_failed(self.inv_first_1, 100.0)

    def test_already_registered_from_a_return_file_is_not_registered_twice(self):
        batch = self.settled_batch()
        line = self.line_of(batch, self.inv_recurring)
        storno = self.register(line, kind="return", source="file")
        self.assertFalse(storno.statement_line_id)
        st_line = self.bank_debit(30.0, payment_ref=f"{line.end_to_end_id} AM04")
        self.assertEqual(self.Storno.search([("batch_line_id", "=", line.id)]), storno)
        self.assertEqual(storno.statement_line_id, st_line)
        self.assert_reconciled(st_line)
        outstanding = storno.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.company._sepa_storno_account(self.bank_journal))
        self.assertTrue(outstanding.reconciled)
        self.assertEqual(outstanding.full_reconcile_id,
                         self.counterpart_lines(st_line).full_reconcile_id)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertAlmostEqual(self.receivable_owed(self.recurring_partner), 30.0)

    # ------------------------------------------------------------------
    # reconciled by hand (what account_reconcile_oca does: the statement line's
    # counterpart booked on the chosen account, then reconcile())
    # ------------------------------------------------------------------

    def reconcile_by_hand(self, st_line, picked, account=None, partner=None):
        suspense = st_line._seek_for_lines()[1]
        suspense.with_context(skip_account_move_synchronization=True).write({
            "account_id": (account or picked.account_id).id,
            **({"partner_id": partner.id} if partner else {})})
        (suspense | picked).reconcile()
        return suspense

    def test_by_hand_with_the_transit_of_a_sent_batch(self):
        """The bank debit paired with the batch's transit line: the storno's counterpart
        is booked on transit and reconciled with the bank debit; the batch's transit
        stays open for the bank's full credit."""
        batch = self.batch
        line = self.line_of(batch, self.inv_first_1)
        st_line = self.bank_debit(150.25, skip=True, payment_ref=f"Storno {line.end_to_end_id}")
        transit = batch._transit_lines().filtered(lambda aml: line.pmt_inf_id in aml.name)
        suspense = self.reconcile_by_hand(st_line, transit)
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{"kind": "return", "source": "statement",
                                          "amount": 150.25, "reason_code": "NONE"}])
        self.assert_failed(self.inv_first_1, 100.0)
        self.assert_failed(self.inv_first_2, 50.25)
        self.assert_balanced(storno.move_id)
        self.assert_balanced(st_line.move_id)
        self.assert_reconciled(st_line)
        counterpart = storno.move_id.line_ids.filtered(
            lambda aml: aml.account_id == transit.account_id)
        self.assertAlmostEqual(counterpart.balance, -150.25)
        self.assertEqual(counterpart.full_reconcile_id, suspense.full_reconcile_id)
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)
        self.assertAlmostEqual(self.receivable_owed(self.debtor), 150.25)
        # the bank's debit is reconciled with the storno: cancelling it is refused
        with self.assertRaisesRegex(UserError, "undo that reconciliation first"):
            storno.action_cancel()
        # the bank's full credit settles the batch
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        self.assertAlmostEqual(self.transit_residual(batch), 0.0)
        self.assertEqual(self.inv_recurring.payment_state, "paid")
        self.assert_failed(self.inv_first_1, 100.0)

    def test_by_hand_with_transit_without_end_to_end_id(self):
        """No id in the texts: the only debit of the transit line's block with the bank
        debit's amount (a merged debit: the sum of its invoices)."""
        batch = self.batch
        line = self.line_of(batch, self.inv_first_1)
        st_line = self.bank_debit(150.25, skip=True, payment_ref="Terugboeking incasso")
        transit = batch._transit_lines().filtered(lambda aml: line.pmt_inf_id in aml.name)
        self.reconcile_by_hand(st_line, transit)
        self.assertEqual(self.storno_of(st_line).batch_line_id, line)
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_first_1, 100.0)
        self.assert_failed(self.inv_first_2, 50.25)
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)

    def test_by_hand_with_the_customers_receivable_of_a_settled_batch(self):
        batch = self.settled_batch()
        st_line = self.bank_debit(30.0, skip=True, payment_ref="Terugboeking AM04")
        receivable = self.inv_recurring.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable")
        self.assertTrue(receivable.reconciled)
        suspense = self.reconcile_by_hand(st_line, receivable, partner=self.recurring_partner)
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{
            "kind": "return", "amount": 30.0, "reason_code": "AM04", "batch_id": batch.id,
            "batch_line_id": self.line_of(batch, self.inv_recurring).id}])
        self.assert_failed(self.inv_recurring, 30.0)
        self.assert_balanced(storno.move_id)
        self.assert_reconciled(st_line)
        self.assertEqual(suspense.full_reconcile_id.reconciled_line_ids.move_id,
                         st_line.move_id | storno.move_id)
        # the customer owes the invoice once
        self.assertAlmostEqual(self.receivable_owed(self.recurring_partner), 30.0)
        self.assertEqual(self.inv_first_1.payment_state, "paid")

    def test_by_hand_with_the_batch_credit_and_a_charge(self):
        batch = self.settled_batch()
        line = self.line_of(batch, self.inv_recurring)
        credit = batch.move_id.line_ids.filtered(lambda aml: aml.sepa_batch_line_id == line)
        st_line = self.bank_debit(32.5, skip=True, payment_ref="Storno")
        self.reconcile_by_hand(st_line, credit, partner=self.recurring_partner)
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{"amount": 30.0, "charge_amount": 2.5}])
        self.assert_recurring_returned_with_charge(storno, st_line)

    def test_by_hand_with_the_outstanding_line_of_a_registered_storno(self):
        batch = self.settled_batch()
        storno = self.register(self.line_of(batch, self.inv_recurring), kind="return",
                               source="file")
        outstanding = storno.move_id.line_ids.filtered(lambda aml: aml.balance < 0)
        st_line = self.bank_debit(30.0, skip=True, payment_ref="Storno")
        self.reconcile_by_hand(st_line, outstanding)
        self.assertEqual(self.Storno.search([("batch_id", "=", batch.id)]), storno)
        self.assertEqual(storno.statement_line_id, st_line)
        self.assert_reconciled(st_line)
        self.assertTrue(outstanding.reconciled)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertAlmostEqual(self.receivable_owed(self.recurring_partner), 30.0)

    def test_unrelated_reconciliation_is_left_alone(self):
        """A bank debit reconciled with an ordinary vendor bill: no storno."""
        self.settled_batch()
        bill = self.invoice(self.recurring_partner, 30.0, move_type="in_invoice")
        payable = bill.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "liability_payable")
        st_line = self.bank_debit(30.0, skip=True, payment_ref="Betaling")
        self.reconcile_by_hand(st_line, payable, partner=self.recurring_partner)
        self.assertFalse(self.storno_of(st_line))
        self.assertEqual(bill.payment_state, "paid")
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_hook_costs_one_query_without_bank_debit(self):
        """A reconciliation without a bank debit pays one query for the storno hook."""
        def pair():
            invoice = self.invoice(self.recurring_partner, 10.0)
            refund = self.invoice(self.recurring_partner, 10.0, move_type="out_refund")
            return (invoice | refund).line_ids.filtered(
                lambda aml: aml.account_id.account_type == "asset_receivable")

        def count(lines, **context):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            lines.with_context(**context).reconcile()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        count(pair(), sepa_storno_hook_off=True)  # warm-up: first-time reads
        without_hook = count(pair(), sepa_storno_hook_off=True)
        lines = pair()
        self.assertLessEqual(count(lines), without_hook + 1)
        self.assertTrue(all(lines.mapped("reconciled")))
