"""Stornos: the accounting invariants of a failed debit, on a real database."""

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import SepaBatchCommon


@tagged("post_install", "-at_install")
class StornoCommon(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Storno = cls.env["sepa.storno"]
        cls.company.sepa_storno_charge_account_id = cls.company_data["default_account_expense"]

    @classmethod
    def send_batch(cls):
        batch = cls.create_batch()
        batch.action_generate()
        batch.action_send()
        return batch

    @staticmethod
    def line_of(batch, invoice):
        return batch.line_ids.filtered(lambda line: line.invoice_id == invoice)

    @classmethod
    def register(cls, line, code="AM04", kind="reject", **values):
        return cls.Storno.register([{
            "batch_line_id": line.id, "reason_code": code, "kind": kind,
            "date": fields.Date.today(), "source": "manual", **values}])

    @classmethod
    def statement(cls, amount, ref):
        return cls.env["account.bank.statement.line"].create({
            "journal_id": cls.bank_journal.id, "date": fields.Date.today(),
            "payment_ref": ref, "amount": amount})

    def assert_balanced(self, move):
        self.assertEqual(move.state, "posted")
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0)

    def transit_residual(self, batch):
        return sum(batch._transit_lines().mapped("amount_residual"))


@tagged("post_install", "-at_install")
class TestStornoAccounting(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()

    def test_reject_before_settlement_reopens_and_reduces_transit(self):
        batch = self.send_batch()
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)
        line = self.line_of(batch, self.inv_first_2)
        storno = self.register(line)
        # the whole merged debit failed: both invoices open again for their residual
        invoices = self.inv_first_1 | self.inv_first_2
        self.assertRecordValues(invoices, [
            {"amount_residual": 100.0, "payment_state": "not_paid", "sepa_state": "failed"},
            {"amount_residual": 50.25, "payment_state": "not_paid", "sepa_state": "failed"},
        ])
        self.assertRecordValues(storno, [{
            "state": "done", "amount": 150.25, "batch_id": batch.id, "kind": "reject",
            "mandate_id": self.mandate_first.id, "partner_id": self.debtor.id,
            "batch_line_id": self.line_of(batch, self.inv_first_1).id,
            "reason_id": self.env.ref("sepa_direct_debit.return_reason_am04").id}])
        self.assertEqual(storno.invoice_ids, invoices)
        failed = self.line_of(batch, self.inv_first_1) | line
        self.assertEqual(set(failed.mapped("state")), {"failed"})
        self.assertFalse(any(failed.mapped("is_open")))
        self.assert_balanced(storno.move_id)
        self.assertEqual(storno.move_id.journal_id, self.bank_journal)
        # the batch credits are reconciled with the storno's receivable debits
        credits = batch.move_id.line_ids.filtered(lambda aml: aml.sepa_batch_line_id in failed)
        self.assertTrue(all(credits.mapped("reconciled")))
        self.assertEqual(credits.full_reconcile_id.reconciled_line_ids.move_id,
                         batch.move_id | storno.move_id)
        # the transit lines are what the bank will still credit
        transit = batch.company_id._sepa_transit_account(self.bank_journal)
        counterpart = storno.move_id.line_ids.filtered(lambda aml: aml.account_id == transit)
        self.assertAlmostEqual(counterpart.balance, -150.25)
        self.assertAlmostEqual(self.transit_residual(batch), 30.0)
        self.assertEqual(batch.state, "sent")
        # the bank credits the batch minus the reject: the batch settles
        st_line = self.statement(30.0, f"SEPA INCASSO {batch.name}")
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(batch.state, "done")
        self.assertRecordValues(self.inv_recurring | self.inv_first_1, [
            {"payment_state": "paid", "sepa_state": "collected"},
            {"payment_state": "not_paid", "sepa_state": "failed"}])
        self.assertEqual(self.line_of(batch, self.inv_first_1).state, "failed")

    def test_reject_of_one_block_settles_the_other_block(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring))
        self.assertAlmostEqual(self.transit_residual(batch), 150.25)
        block = self.line_of(batch, self.inv_first_1).pmt_inf_id
        self.statement(150.25, block)
        self.assertEqual(batch.state, "done")
        self.assertEqual(self.inv_first_1.payment_state, "paid")
        self.assertEqual(self.inv_recurring.payment_state, "not_paid")

    def test_return_after_settlement_uses_outstanding_account_and_charge(self):
        batch = self.send_batch()
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        storno = self.register(self.line_of(batch, self.inv_recurring), kind="return",
                               charge_amount=2.5)
        self.assertRecordValues(self.inv_recurring, [
            {"amount_residual": 30.0, "payment_state": "not_paid", "sepa_state": "failed"}])
        move = storno.move_id
        self.assert_balanced(move)
        outstanding = self.company._sepa_storno_account(self.bank_journal)
        transit = self.company._sepa_transit_account(self.bank_journal)
        expense = self.company.sepa_storno_charge_account_id
        self.assertAlmostEqual(sum(move.line_ids.filtered(
            lambda aml: aml.account_id == outstanding).mapped("balance")), -32.5)
        self.assertFalse(move.line_ids.filtered(lambda aml: aml.account_id == transit))
        self.assertAlmostEqual(sum(move.line_ids.filtered(
            lambda aml: aml.account_id == expense).mapped("balance")), 2.5)
        # the others stay paid
        self.assertEqual(self.inv_first_1.payment_state, "paid")

    def test_company_default_charge(self):
        self.company.sepa_storno_charge_amount = 4.0
        batch = self.send_batch()
        storno = self.register(self.line_of(batch, self.inv_recurring))
        self.assertEqual(storno.charge_amount, 4.0)
        self.assert_balanced(storno.move_id)
        expense = self.company.sepa_storno_charge_account_id
        self.assertAlmostEqual(sum(storno.move_id.line_ids.filtered(
            lambda aml: aml.account_id == expense).mapped("balance")), 4.0)
        # the charge is not the transit's: the bank still credits 150.25
        self.assertAlmostEqual(self.transit_residual(batch), 150.25)

    def test_no_invoice_reopened_twice(self):
        batch = self.send_batch()
        line = self.line_of(batch, self.inv_recurring)
        with self.assertRaisesRegex(UserError, "registered as failed already"):
            self.Storno.register([
                {"batch_line_id": line.id, "reason_code": "AM04", "kind": "reject"},
                {"batch_line_id": line.id, "reason_code": "AM04", "kind": "reject"}])
        self.assertFalse(self.Storno.search([("batch_id", "=", batch.id)]))
        self.register(line)
        with self.assertRaisesRegex(UserError, "registered as failed already"):
            self.register(line, kind="return")
        self.assertEqual(self.inv_recurring.amount_residual, 30.0)

    def test_status_of_an_invoice_on_hold_is_computed(self):
        """The set-wise booking writes "Failed" itself; an invoice on direct debit hold
        keeps "On hold" (computed by the ORM), and is "Failed" once released."""
        batch = self.send_batch()
        self.inv_recurring.write({"sepa_hold": True, "sepa_hold_reason": "Disputed"})
        self.Storno.register([
            {"batch_line_id": self.line_of(batch, invoice).id, "reason_code": "AM04",
             "kind": "reject", "date": fields.Date.today()}
            for invoice in (self.inv_recurring, self.inv_first_1)])
        self.env.invalidate_all()
        self.assertRecordValues(self.inv_recurring | self.inv_first_1, [
            {"sepa_state": "on_hold", "amount_residual": 30.0, "payment_state": "not_paid"},
            {"sepa_state": "failed", "amount_residual": 100.0, "payment_state": "not_paid"}])
        self.inv_recurring.action_sepa_release()
        self.assertEqual(self.inv_recurring.sepa_state, "failed")

    def test_one_posted_entry_per_booking_date(self):
        """Each storno gets the entry of its bank journal and booking date when it is
        inserted; the booking posts it: no draft entry is left."""
        batch = self.send_batch()
        today = fields.Date.today()
        stornos = self.Storno.register([
            {"batch_line_id": self.line_of(batch, self.inv_first_1).id, "reason_code": "AM04",
             "kind": "reject", "date": today, "booking_date": today},
            {"batch_line_id": self.line_of(batch, self.inv_recurring).id,
             "reason_code": "MS02", "kind": "reject", "date": today,
             "booking_date": fields.Date.add(today, days=1)}])
        self.assertEqual(len(stornos.move_id), 2)
        for storno in stornos:
            self.assert_balanced(storno.move_id)
            self.assertEqual(storno.move_id.date, storno.booking_date)
            self.assertEqual(storno.move_id.line_ids.sepa_storno_id, storno)
            self.assertIn(batch.name, storno.move_id.ref)
        self.assertFalse(self.env["account.move"].search(
            [("journal_id", "=", self.bank_journal.id), ("state", "=", "draft")]))

    def test_refused_for_a_batch_not_sent(self):
        batch = self.create_batch()
        with self.assertRaisesRegex(UserError, "not sent or settled"):
            self.register(batch.line_ids[0])

    def test_wrong_amount_refused(self):
        batch = self.send_batch()
        with self.assertRaisesRegex(UserError, "is not the debit's"):
            self.register(self.line_of(batch, self.inv_recurring), amount=29.0)

    def test_cancel_reject_restores_reconciliation(self):
        batch = self.send_batch()
        line = self.line_of(batch, self.inv_recurring)
        credit = batch.move_id.line_ids.filtered(lambda aml: aml.sepa_batch_line_id == line)
        before = credit.matched_debit_ids.mapped(lambda p: (p.debit_move_id.id, p.amount))
        storno = self.register(line)
        storno.action_cancel()
        self.assertEqual(storno.state, "cancelled")
        self.assert_balanced(storno.cancel_move_id)
        self.assertRecordValues(self.inv_recurring, [
            {"amount_residual": 0.0, "payment_state": "in_payment", "sepa_state": "in_batch"}])
        self.assertRecordValues(line, [{"state": "pending", "is_open": True}])
        credit.invalidate_recordset()
        self.assertEqual(credit.matched_debit_ids.mapped(
            lambda p: (p.debit_move_id.id, p.amount)), before)
        self.assertTrue(credit.full_reconcile_id)
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_cancel_return_after_settlement(self):
        batch = self.send_batch()
        self.statement(180.25, batch.name)
        line = self.line_of(batch, self.inv_recurring)
        storno = self.register(line, kind="return")
        storno.action_cancel()
        self.assertRecordValues(self.inv_recurring, [
            {"amount_residual": 0.0, "payment_state": "paid", "sepa_state": "collected"}])
        self.assertRecordValues(line, [{"state": "collected", "is_open": False}])
        # registered again: allowed, the first one is cancelled
        again = self.register(line, kind="return")
        self.assertEqual(self.inv_recurring.amount_residual, 30.0)
        self.assertEqual(again.state, "done")

    def test_batch_cancel_refused_with_storno(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring))
        with self.assertRaisesRegex(UserError, "Cancel those stornos first"):
            batch.action_cancel()

    def test_orm_path_gives_the_same_entry(self):
        """The set-wise storno entry and reconciliation equal what the ORM path gives."""
        def book(storno_model):
            batch = self.send_batch()
            storno = storno_model.register([{
                "batch_line_id": self.line_of(batch, self.inv_first_1).id,
                "reason_code": "AM04", "kind": "reject", "charge_amount": 1.5}])
            lines = storno.move_id.line_ids.sorted(lambda aml: (aml.name, aml.balance))
            rows = [(aml.account_id.id, aml.partner_id.id, aml.name.replace(batch.name, "B"),
                     aml.balance, aml.debit,
                     aml.credit, aml.amount_currency, aml.amount_residual, aml.reconciled,
                     bool(aml.matched_debit_ids or aml.matched_credit_ids))
                    for aml in lines]
            invoices = (self.inv_first_1 | self.inv_first_2).mapped(
                lambda inv: (inv.amount_residual, inv.payment_state, inv.sepa_state))
            storno.action_cancel()
            batch.line_ids.batch_id.action_cancel()
            return rows, invoices, self.transit_residual(batch)

        setwise = book(self.Storno)
        orm = book(self.Storno.with_context(sepa_posting_orm_only=True))
        self.assertEqual(setwise, orm)

    def test_reject_of_part_of_a_block(self):
        """The block's transit stays open for the rest: the set-wise partial equals
        Odoo's, and the bank's reduced credit of the block settles it."""
        from .common import IBAN_C
        partner_c, _mandate = self.create_debtor("Pieter Jansen", IBAN_C,
                                                 sequence_type="recurring", name="MDT-C")
        inv_c = self.invoice(partner_c, 40.0)

        def book(storno_model):
            batch = self.send_batch()
            self.assertIn(self.inv_recurring, batch.line_ids.invoice_id)
            storno = storno_model.register([{
                "batch_line_id": self.line_of(batch, self.inv_recurring).id,
                "reason_code": "AM04", "kind": "reject"}])
            block = self.line_of(batch, self.inv_recurring).pmt_inf_id
            transit = batch._transit_lines().filtered(lambda aml: block in aml.name)
            credit = storno.move_id.line_ids.filtered(
                lambda aml: aml.account_id == transit.account_id)
            rows = [(aml.amount_residual, aml.reconciled, aml.matching_number[:1],
                     aml.matching_number == transit.matching_number)
                    for aml in transit | credit]
            self.assertAlmostEqual(transit.amount_residual, 40.0)
            return batch, block, storno, rows

        batch, block, storno, setwise = book(self.Storno)
        self.assertEqual(setwise, [(40.0, False, "P", True), (0.0, True, "P", True)])
        self.statement(40.0, block)
        self.statement(150.25, self.line_of(batch, self.inv_first_1).pmt_inf_id)
        self.assertEqual(batch.state, "done")
        self.assertEqual(inv_c.payment_state, "paid")
        self.assertEqual(self.inv_recurring.payment_state, "not_paid")
        # the same through Odoo's reconciliation, on a new batch
        storno.action_retry()
        self.invoice(partner_c, 40.0)
        batch2, _block, storno2, orm = book(
            self.Storno.with_context(sepa_posting_orm_only=True))
        self.assertEqual(orm, setwise)
        # cancelling a partial reject opens the whole block again
        storno2.action_cancel()
        self.assertAlmostEqual(self.transit_residual(batch2), 70.0)
        self.assertEqual(self.inv_recurring.payment_state, "in_payment")

    def test_outstanding_account_fallbacks(self):
        """Setting (made with the chart), else the journal's outstanding payments
        account, else the company's liquidity transfer account (a journal without
        outbound methods broke here)."""
        journal = self.bank_journal
        made = self.company.sepa_storno_account_id
        self.assertEqual(self.company._sepa_storno_account(journal), made)
        self.company.sepa_storno_account_id = False
        self.assertEqual(self.company._sepa_storno_account(journal),
                         journal.outbound_payment_method_line_ids[:1].payment_account_id)
        journal.outbound_payment_method_line_ids.payment_account_id = False
        self.assertEqual(self.company._sepa_storno_account(journal),
                         self.company.transfer_account_id)
        own = self.company.transfer_account_id.copy({"code": "SDD999"})
        self.company.sepa_storno_account_id = own
        self.assertEqual(self.company._sepa_storno_account(journal), own)
