"""A reject of a whole file (pain.002 ``GrpSts`` RJCT) or of a payment block
(``PmtInfSts`` RJCT) is the creditor's problem, not the debtors': through the return file
import, as the bookkeeper does it. And the reason catalogue says whose failure a code is:
only a debtor's failure brings a bank charge, a fee invoice and storno points."""

import base64

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import format_date

from .test_return_import import pain002
from .test_storno_accounting import StornoCommon

CHARGE = 2.5


@tagged("post_install", "-at_install")
class TestWholeFileReject(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()
        cls.fee_product = cls._create_product(
            name="Storno fee", type="service", lst_price=7.5, taxes_id=[Command.clear()])
        cls.company.write({
            "sepa_storno_fee_invoice": True,
            "sepa_storno_fee_product_id": cls.fee_product.id,
            "sepa_storno_charge_amount": CHARGE,
        })
        cls.batch = cls.send_batch()
        cls.first = cls.batch.line_ids.filtered(lambda line: line.mandate_id == cls.mandate_first)
        cls.recurring = cls.batch.line_ids.filtered(
            lambda line: line.mandate_id == cls.mandate_recurring)
        cls.invoices = cls.inv_first_1 | cls.inv_first_2 | cls.inv_recurring
        cls.mandates = cls.mandate_first | cls.mandate_recurring

    # helpers

    def import_file(self, data, filename="status.xml"):
        wizard = self.env["sepa.return.import"].create({
            "data_file": base64.b64encode(data), "filename": filename})
        wizard.action_preview()
        return wizard

    def fee_invoices(self):
        return self.env["account.move"].search([
            ("move_type", "=", "out_invoice"),
            ("invoice_line_ids.product_id", "=", self.fee_product.id)])

    def charge_lines(self):
        return self.env["account.move.line"].search([
            ("account_id", "=", self.company.sepa_storno_charge_account_id.id),
            ("company_id", "=", self.company.id)])

    def events(self):
        return self.env["sepa.storno.event"].search([("mandate_id", "in", self.mandates.ids)])

    def transit_balance(self, batch):
        """What the batch still has on the transit account: its entry and the entries
        reversing or reconciling with it."""
        transit = self.company._sepa_transit_account(self.bank_journal)
        entries = batch.move_id | batch.move_id.reversal_move_ids | self.env[
            "sepa.storno"].search([("batch_id", "=", batch.id)]).move_id
        return sum(entries.line_ids.filtered(lambda line: line.account_id == transit)
                   .mapped("balance"))

    def open_debits(self, batch):
        return sum(batch.line_ids.filtered(lambda line: line.state == "pending").mapped("amount"))

    def settle_by_bank(self, date="2030-02-10"):
        """The bank's credit of the whole batch, on a statement line: the batch settles."""
        self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id, "date": date,
            "payment_ref": f"SEPA INCASSO {self.batch.name}", "amount": 180.25})
        self.assertEqual(self.batch.state, "done")

    def assert_nothing_charged(self, events_before=0):
        self.assertFalse(self.charge_lines())
        self.assertFalse(self.fee_invoices())
        self.assertEqual(len(self.events()), events_before)
        self.assertEqual(self.mandates.mapped("storno_score"), [0, 0])

    # ------------------------------------------------------------------
    # defect: a whole-file reject of a batch the bank credited already
    # ------------------------------------------------------------------

    def test_duplicate_upload_of_settled_batch_registers_nothing(self):
        """The bookkeeper uploaded the file twice; the bank settled the first and rejects
        the second as a duplicate message (DU01): nothing to register, and why."""
        self.settle_by_bank()
        wizard = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                          group_reason="DU01"))
        credited = format_date(self.env, fields.Date.to_date("2030-02-10"))
        self.assertRecordValues(wizard.line_ids, [{
            "status": "skipped", "level": "group", "reject_batch_id": self.batch.id,
            "reason_code": "DU01", "amount": 180.25}])
        note = wizard.line_ids.note
        self.assertIn(f"credited on {credited}", note)
        self.assertIn("rejects a second upload of it", note)
        self.assertEqual((wizard.match_count, wizard.batch_reject_count), (0, 0))
        with self.assertRaisesRegex(UserError, "credited on"):
            wizard.action_apply()
        # nothing changed
        self.assertEqual(self.batch.state, "done")
        self.assertFalse(self.env["sepa.storno"].search([("batch_id", "=", self.batch.id)]))
        self.assertEqual(set(self.invoices.mapped("payment_state")), {"paid"})
        self.assertEqual(set(self.batch.line_ids.mapped("state")), {"collected"})
        self.assertEqual(self.mandate_first.sequence_type, "recurring")
        self.assertFalse(self.charge_lines())
        self.assertFalse(self.fee_invoices())

    def test_reject_of_partly_credited_batch_registers_nothing(self):
        """One payment block credited by the bank already: the batch was credited."""
        transit = self.batch._transit_lines().filtered(
            lambda line: self.recurring.pmt_inf_id in line.name)
        st_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id, "date": "2030-02-11",
            "payment_ref": f"SEPA INCASSO {self.recurring.pmt_inf_id}", "amount": 30.0})
        self.assertTrue(transit.reconciled, st_line)
        self.assertEqual(self.batch.state, "sent")
        states = self.invoices.mapped("payment_state")
        wizard = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                          group_reason="FF01"))
        self.assertEqual(wizard.line_ids.status, "skipped")
        self.assertIn("credited on " + format_date(
            self.env, fields.Date.to_date("2030-02-11")), wizard.line_ids.note)
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(self.batch.state, "sent")
        self.assertEqual(self.invoices.mapped("payment_state"), states)
        self.assertFalse(self.env["sepa.storno"].search([("batch_id", "=", self.batch.id)]))

    # ------------------------------------------------------------------
    # defect: a whole-file reject of a sent batch is not a storno of every debit
    # ------------------------------------------------------------------

    def test_reject_of_sent_batch_undoes_it_without_charges(self):
        self.assertEqual(self.mandate_first.sequence_type, "first")
        messages = len(self.batch.message_ids)
        wizard = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                          group_reason="FF01"))
        self.assertRecordValues(wizard.line_ids, [{
            "status": "batch_reject", "level": "group", "reject_batch_id": self.batch.id,
            "reason_code": "FF01", "amount": 180.25, "kind": "reject"}])
        self.assertEqual((wizard.match_count, wizard.batch_reject_count), (0, 1))
        action = wizard.action_apply()
        self.assertEqual(action["res_model"], "sepa.batch")
        self.assertEqual(action["res_id"], self.batch.id)
        # the batch failed as a whole: undone as a cancel, marked rejected by the bank
        self.assertRecordValues(self.batch, [{
            "state": "rejected",
            "bank_reject_reason_id": self.env.ref("sepa_direct_debit.return_reason_ff01").id,
            "bank_reject_date": fields.Date.today()}])
        self.assertFalse(self.env["sepa.storno"].search([("batch_id", "=", self.batch.id)]))
        self.assertRecordValues(self.invoices, [
            {"payment_state": "not_paid", "amount_residual": 100.0, "sepa_state": "to_collect"},
            {"payment_state": "not_paid", "amount_residual": 50.25, "sepa_state": "to_collect"},
            {"payment_state": "not_paid", "amount_residual": 30.0, "sepa_state": "to_collect"},
        ])
        reversal = self.batch.move_id.reversal_move_ids
        for move in self.batch.move_id | reversal:
            self.assert_balanced(move)
        self.assertAlmostEqual(self.transit_balance(self.batch), 0.0)
        self.assertAlmostEqual(self.transit_residual(self.batch), 0.0)
        self.assertEqual(self.mandate_first.sequence_type, "first")
        self.assertEqual(self.mandate_recurring.sequence_type, "recurring")
        self.assert_nothing_charged()
        # one message on the batch says what happened
        new = self.batch.message_ids[:len(self.batch.message_ids) - messages]
        self.assertEqual(len(new), 1)
        self.assertIn("Rejected by the bank", new.body)
        self.assertIn("FF01", new.body)
        self.assertIn("no bank charge", new.body)
        # the invoices are proposed again at once, the first debit still first
        proposal = self.propose()
        lines = proposal.line_ids.filtered(lambda line: line.invoice_id in self.invoices)
        self.assertEqual(lines.invoice_id, self.invoices)
        self.assertEqual(set(lines.filtered(lambda line: line.mandate_id == self.mandate_first)
                             .mapped("sequence_type")), {"FRST"})
        # the same report imported again: the batch is rejected already
        again = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                         group_reason="FF01"), filename="status-2.xml")
        self.assertEqual(again.line_ids.status, "skipped")
        self.assertIn("rejected by the bank", again.line_ids.note)
        with self.assertRaises(UserError):
            again.action_apply()

    def test_duplicate_reject_of_sent_batch_keeps_it(self):
        """A duplicate message (DU01) rejects a second upload: the first one stands and
        will be credited; the batch is not undone."""
        wizard = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                          group_reason="DU01"))
        self.assertEqual(wizard.line_ids.status, "skipped")
        self.assertIn("duplicate", wizard.line_ids.note)
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(self.batch.state, "sent")
        self.assertEqual(set(self.invoices.mapped("payment_state")), {"in_payment"})

    def test_reject_of_sent_batch_with_a_failed_debit_is_refused(self):
        self.register(self.recurring, "AM04")
        wizard = self.import_file(pain002(self.batch.name, group_status="RJCT",
                                          group_reason="FF01"))
        with self.assertRaisesRegex(UserError, "Cancel those stornos first"):
            wizard.action_apply()
        self.assertEqual(self.batch.state, "sent")

    # ------------------------------------------------------------------
    # payment block rejects: the reason says whose failure it is
    # ------------------------------------------------------------------

    def test_block_reject_charges_only_debtor_failures(self):
        """Block of the first debit rejected for the file's format (FF01, the creditor's):
        no charge, fee or points. Block of the recurring debit rejected for insufficient
        funds (AM04, the debtor's): the default charge, a fee invoice and 1 point."""
        data = pain002(self.batch.name, [
            (self.first[0].pmt_inf_id, "RJCT", "FF01", []),
            (self.recurring.pmt_inf_id, "RJCT", "AM04", []),
        ])
        wizard = self.import_file(data)
        self.assertEqual(wizard.match_count, 2)
        stornos = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        creditor = stornos.filtered(lambda s: s.reason_code == "FF01")
        debtor = stornos - creditor
        self.assertRecordValues(creditor | debtor, [
            {"kind": "reject", "charge_amount": 0.0, "points": 0, "after_settlement": False,
             "mandate_id": self.mandate_first.id},
            {"kind": "reject", "charge_amount": CHARGE, "points": 1, "after_settlement": False,
             "mandate_id": self.mandate_recurring.id},
        ])
        self.assertEqual(self.charge_lines().sepa_storno_id, debtor)
        self.assertEqual(self.fee_invoices().partner_id, self.recurring_partner)
        self.assertEqual(self.fee_invoices().invoice_line_ids.sepa_fee_storno_id, debtor)
        self.assertEqual(self.mandate_first.storno_score, 0)
        self.assertEqual(self.mandate_recurring.storno_score, 1)
        self.assertEqual(self.mandate_first.sequence_type, "first")
        # invariants: balanced, invoices open, transit = the debits still to credit
        for move in stornos.move_id:
            self.assert_balanced(move)
        self.assertEqual(self.invoices.mapped("amount_residual"), [100.0, 50.25, 30.0])
        self.assertAlmostEqual(self.transit_residual(self.batch), self.open_debits(self.batch))

    def test_block_reject_file_imported_twice(self):
        """Every block rejected: the batch is settled by its stornos (no bank credit);
        the same report again finds them registered, it does not call the batch
        credited."""
        data = pain002(self.batch.name, [
            (self.first[0].pmt_inf_id, "RJCT", "FF01", []),
            (self.recurring.pmt_inf_id, "RJCT", "FF01", [])])
        self.import_file(data).action_apply()
        self.assertEqual(self.batch.state, "done")
        again = self.import_file(data, filename="status-again.xml")
        self.assertEqual(set(again.line_ids.mapped("status")), {"registered"})
        with self.assertRaisesRegex(UserError, "This file was imported on"):
            again.action_apply()

    def test_block_reject_of_credited_block_registers_nothing(self):
        self.settle_by_bank()
        wizard = self.import_file(pain002(self.batch.name, [
            (self.recurring.pmt_inf_id, "RJCT", "FF01", [])]))
        self.assertRecordValues(wizard.line_ids, [{
            "status": "skipped", "level": "pmtinf", "reject_batch_id": self.batch.id,
            "amount": 30.0}])
        self.assertIn("credited on", wizard.line_ids.note)
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    def test_registered_by_hand_with_a_creditor_code(self):
        """The same answer by hand: no default charge, no fee, no points; a charge the
        bank did take is booked (the creditor's cost) but never re-invoiced."""
        storno = self.register(self.recurring, "RC01")
        self.assertRecordValues(storno, [{"charge_amount": 0.0, "points": 0}])
        other = self.register(self.first[0], "AM05", charge_amount=1.25)
        self.assertRecordValues(other, [{"charge_amount": 1.25, "points": 0}])
        self.assertEqual(self.charge_lines().sepa_storno_id, other)
        self.assertFalse(self.fee_invoices())
        self.assertEqual(self.mandates.mapped("storno_score"), [0, 0])


@tagged("post_install", "-at_install")
class TestReasonFault(StornoCommon):
    def test_consequences_come_from_the_catalogue(self):
        Reason = self.env["sepa.return.reason"]
        reasons = Reason._get_or_create(["AM04", "AC04", "FF01", "DU01", "CNOR", "ZZ98"])
        self.company.sepa_storno_threshold = 4
        answer = Reason.browse(r.id for r in reasons.values())._consequences(self.company)
        got = {code: tuple(answer[reason.id]) for code, reason in reasons.items()}
        self.assertEqual(got, {
            "AM04": (True, True, 1),
            "AC04": (True, True, 4),
            "FF01": (False, False, 0),
            "DU01": (False, False, 0),
            "CNOR": (False, False, 0),
            "ZZ98": (True, True, 1),  # unknown: as a debtor's failure, 1 point
        })
        self.assertEqual(reasons["FF01"].fault, "creditor")
        self.assertEqual(reasons["CNOR"].fault, "bank")
        self.assertEqual(reasons["ZZ98"].fault, "debtor")
        # the company's own points do not make a creditor's failure count
        reasons["FF01"].with_company(self.company).company_points = 3
        self.assertEqual(reasons["FF01"]._consequences(self.company)[reasons["FF01"].id].points,
                         0)
