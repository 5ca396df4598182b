"""Stornos from bank statement lines: a bank debit that carries a debit's end-to-end id
is registered and reconciled when created, by "Match Bank Statements", and when a user
reconciles it by hand with the batch entry or the customer's receivable."""

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from ..models import sepa_batch
from .common import CREDITOR_ID
from .test_storno_accounting import StornoCommon

#: The federation's creditor identifier: another creditor debiting our own account.
OTHER_CREDITOR_ID = "NL08ZZZ502057730000"


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

    def test_empty_identifier_is_mentioned_nowhere(self):
        """One definition of "mentions" for batches, stornos and statement lines: an
        empty identifier (a block without PmtInfId) is in no text."""
        for text in ("SEPA  INCASSO", "/EREF/ /CSID/", "  "):
            self.assertFalse(sepa_batch._mentions(text, ""), text)
            self.assertFalse(sepa_batch._mentions(text, None), text)
        self.assertTrue(sepa_batch._mentions("SEPA INCASSO SDD-1-P1", "sdd-1-p1"))
        self.assertFalse(sepa_batch._mentions("SEPA INCASSO SDD-1-P10", "SDD-1-P1"))

    def test_bank_credit_is_not_a_storno(self):
        batch = self.settled_batch()
        st_line = self.statement(30.0, f"{self.e2e(batch, self.inv_recurring)} AM04")
        self.assertFalse(self.storno_of(st_line))
        self.assertEqual(self.inv_recurring.payment_state, "paid")

    # ------------------------------------------------------------------
    # a storno only when it is one: the creditor is ours, the bank code allows it, the
    # charge is plausible (defect: any bank debit naming a debit was its return)
    # ------------------------------------------------------------------

    def enable_fees(self):
        product = self._create_product(name="Storno fee", type="service", lst_price=7.5)
        self.company.write({"sepa_storno_fee_invoice": True,
                            "sepa_storno_fee_product_id": product.id})
        return product

    def fee_lines(self):
        return self.env["account.move.line"].search([("sepa_fee_storno_id", "!=", False)])

    def chatter(self, st_line):
        """The texts of the notes logged on the bank debit's entry."""
        return [html2plaintext(message.body) for message in st_line.move_id.message_ids
                if message.message_type == "notification"]

    def assert_left_open(self, st_line, batch, transit, *why):
        """Nobody failed: no storno, charge, fee or point; the invoices stay paid, every
        entry balanced, transit what the bank still credits, the line open with one note
        saying why."""
        self.assertFalse(self.storno_of(st_line))
        self.assertFalse(self.Storno.search([("batch_id", "=", batch.id)]))
        self.assertFalse(self.fee_lines())
        self.assertFalse(self.env["sepa.storno.event"].search(
            [("mandate_id", "in", (self.mandate_recurring | self.mandate_first).ids)]))
        self.assertEqual((self.mandate_recurring | self.mandate_first).mapped("storno_score"),
                         [0, 0])
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(self.counterpart_lines(st_line).account_id,
                         self.bank_journal.suspense_account_id)
        for invoice in self.inv_recurring | self.inv_first_1 | self.inv_first_2:
            self.assertEqual(invoice.payment_state,
                             "paid" if batch.state == "done" else "in_payment")
        self.assertEqual(set(batch.line_ids.mapped("state")),
                         {"collected" if batch.state == "done" else "pending"})
        self.assert_balanced(st_line.move_id)
        self.assert_balanced(batch.move_id)
        self.assertAlmostEqual(self.transit_residual(batch), transit)
        [note] = self.chatter(st_line)
        self.assertIn("Not registered as a storno", note)
        for text in why:
            self.assertIn(text, note)

    def test_another_creditors_debit_of_our_account_is_not_a_storno(self):
        """The federation collects its dues (500.00) from our account; its end-to-end id
        happens to be that of our member's debit (the same pattern in every database).
        Created together with the member's real return: that one is registered."""
        self.enable_fees()
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        foreign = self.bank_debit(
            500.0, payment_ref=f"/EREF/{e2e}/ /CSID/{OTHER_CREDITOR_ID}/ /REMI/Contributie "
            "2027 bond/")
        self.assert_left_open(foreign, batch, 0.0, OTHER_CREDITOR_ID, "not ours", e2e)
        # the note is shown in the reader's language (its parts are kept)
        note = foreign.move_id.message_ids.filtered("sepa_i18n")
        self.assertEqual([key for key, _params in note.sepa_i18n], ["bank_debit_creditor"])
        # the same with the creditor id in the bank's details and the debit's own amount
        details = self.bank_debit(30.0, payment_ref="Incasso", transaction_details={
            "TxDtls": {"Refs": {"EndToEndId": e2e}, "CdtrSchmeId": OTHER_CREDITOR_ID}})
        self.assertFalse(self.storno_of(details))
        self.assertIn(OTHER_CREDITOR_ID, self.chatter(details)[0])
        # the member's return and the federation's debit in one import: the return is
        # registered, the federation's debit does not take the debit from it
        lines = self.StLine.create([{
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "amount": -amount, "payment_ref": text} for amount, text in (
                (500.0, f"/EREF/{e2e}/ /CSID/{OTHER_CREDITOR_ID}/"),
                (30.0, f"/EREF/{e2e}/ /CSID/{CREDITOR_ID}/ /RTRN/MS02/"))])
        self.assertFalse(self.storno_of(lines[0]))
        self.assertFalse(lines[0].is_reconciled)
        self.assertEqual(len(self.chatter(lines[0])), 1)
        storno = self.storno_of(lines[1])
        self.assertRecordValues(storno, [{"amount": 30.0, "charge_amount": 0.0,
                                          "reason_code": "MS02", "end_to_end_id": e2e}])
        self.assert_reconciled(lines[1])
        self.assertFalse(self.chatter(lines[1]))
        self.assert_failed(self.inv_recurring, 30.0)

    def test_debit_collected_from_our_account_by_bank_code_is_not_a_storno(self):
        """A statement import gives the bank transaction code: PMNT-RDDT-ESDD is a direct
        debit collected FROM our account (the return file's rule), never our storno, even
        for the debit's very amount and before the batch is settled."""
        batch = self.batch
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(30.0, payment_ref=f"SEPA Incasso {e2e}",
                                  transaction_type="PMNT-RDDT-ESDD")
        self.assert_left_open(st_line, batch, 180.25, "PMNT-RDDT-ESDD", e2e)
        # the bank's code of a returned debit of ours: a storno
        returned = self.bank_debit(30.0, payment_ref=f"Storno {e2e} AM04",
                                   transaction_type="PMNT-RDDT-UPDD")
        self.assertEqual(self.storno_of(returned).reason_code, "AM04")
        self.assert_reconciled(returned)
        self.assertAlmostEqual(self.transit_residual(batch), 180.25)

    def test_charge_above_the_maximum_is_left_for_the_bookkeeper(self):
        """30.00 debit, the bank takes 45.00: 15.00 is no plausible charge (maximum 10.00
        by default). Raised to 20.00 in the settings, Match Bank Statements registers it."""
        self.enable_fees()
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(45.0, payment_ref=f"STORNO {e2e} AM04")
        self.assert_left_open(st_line, batch, 0.0, "above the maximum bank charge", e2e,
                              "(10.00")
        self.assertEqual(self.company.sepa_storno_max_charge, 10.0)
        self.company.sepa_storno_max_charge = 20.0
        batch.action_match_statements()
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{"amount": 30.0, "charge_amount": 15.0}])
        self.assert_reconciled(st_line)
        self.assert_balanced(storno.move_id)
        self.assertEqual(len(self.fee_lines()), 1)

    def test_return_with_a_plausible_charge_is_registered(self):
        self.enable_fees()
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(33.0, payment_ref=f"STORNO {e2e} AM04")
        storno = self.storno_of(st_line)
        self.assertRecordValues(storno, [{"amount": 30.0, "charge_amount": 3.0}])
        self.assert_balanced(storno.move_id)
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_recurring, 30.0)
        self.assertEqual(self.fee_lines().sepa_fee_storno_id, storno)
        self.assertEqual(self.mandate_recurring.storno_score, storno.points)
        self.assertAlmostEqual(self.transit_residual(batch), 0.0)
        self.assertFalse(self.chatter(st_line))

    def test_our_creditor_id_is_registered(self):
        """The bank gives our creditor identifier (in the text, or in its details with
        another creditor business code, which is no part of the identification)."""
        batch = self.settled_batch()
        e2e = self.e2e(batch, self.inv_recurring)
        st_line = self.bank_debit(30.0, payment_ref=f"/EREF/{e2e}/ /CSID/{CREDITOR_ID}/")
        self.assertEqual(self.storno_of(st_line).amount, 30.0)
        self.assert_reconciled(st_line)
        e2e = self.e2e(batch, self.inv_first_1)
        ours = CREDITOR_ID[:4] + "ABC" + CREDITOR_ID[7:]
        st_line = self.bank_debit(150.25, payment_ref="Terugboeking", transaction_type=(
            "PMNT-IDDT-UPDD"), transaction_details={"TxDtls": {
                "Refs": {"EndToEndId": e2e}, "RltdPties": {"Cdtr": {"Id": {"PrvtId": {
                    "Othr": {"Id": ours, "SchmeNm": {"Prtry": "SEPA"}}}}}}}})
        self.assertEqual(self.storno_of(st_line).amount, 150.25)
        self.assert_reconciled(st_line)
        self.assert_failed(self.inv_first_1, 100.0)

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
