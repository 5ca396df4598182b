"""Register Bank Credit (issue 18, item 1): a bookkeeper without a bank statement import
settles a sent batch from its form. The wizard writes ONE bank statement line in the
batch's bank journal and reconciles it with the transit lines it pays, as an imported
line would be: the whole open amount settles the batch, the amount of whole payment
blocks settles those blocks, any other amount is refused."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import format_date

from ..sepa.calendar import add_business_days, earliest_collection_date
from .common import IBAN_B, SepaBatchCommon, SepaTourCase
from .test_failure_screens import arch_of, evaluate


@tagged("post_install", "-at_install")
class TestBankCredit(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        cls.make_cycle_invoices()
        cls.invoices_all = cls.inv_first_1 | cls.inv_first_2 | cls.inv_recurring
        # two collection dates: the first customer's debit (150.25, FRST) on the earliest
        # date, the recurring one's (30.00, RCUR) two business days later
        earliest = earliest_collection_date(cls.today, "CORE", bank_cutoff_days=1)
        wizard = cls.propose(invoice_ids=cls.invoices_all.ids)
        for line in wizard.line_ids:
            line.collection_date = earliest if line.mandate_id == cls.mandate_first \
                else add_business_days(earliest, 2)
        cls.batch = cls.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        cls.batch.action_generate()
        cls.batch.action_send()
        # sent a week ago: the bank's credits came in since
        cls.batch.sent_date = cls.today - timedelta(days=7)
        lines = cls.batch.line_ids
        cls.block_first = lines.filtered(
            lambda line: line.mandate_id == cls.mandate_first)[:1].pmt_inf_id
        cls.block_recurring = lines.filtered(
            lambda line: line.mandate_id == cls.mandate_recurring)[:1].pmt_inf_id
        cls.StLine = cls.env["account.bank.statement.line"]

    def wizard(self, batch=None, env=None, **values):
        """The wizard as the batch's button opens it, with ``values`` typed in."""
        batch = (batch or self.batch).with_env(env or self.env)
        action = batch.action_open_bank_credit()
        self.assertEqual(action["res_model"], "sepa.bank.credit")
        form = Form(batch.env[action["res_model"]].with_context(action["context"]))
        for name, value in values.items():
            setattr(form, name, value)
        return form.save()

    def transit(self, block=None):
        lines = self.batch._transit_lines()
        if block:
            lines = lines.filtered(lambda aml: block in aml.name)
            self.assertEqual(len(lines), 1)
        return lines

    def credits(self):
        return self.StLine.search([("journal_id", "=", self.bank_journal.id)])

    # ------------------------------------------------------------------
    # full and partial credits
    # ------------------------------------------------------------------

    def test_full_credit_settles_the_batch(self):
        wizard = self.wizard()
        self.assertRecordValues(wizard, [{
            "batch_id": self.batch.id, "journal_id": self.bank_journal.id,
            "date": self.today, "amount": 180.25, "bank_reference": False}])
        self.assertEqual(wizard.amount, self.batch.bank_credit_amount)
        credited = self.today - timedelta(days=2)
        wizard.write({"date": credited, "bank_reference": "BNK-4711"})
        before = self.credits()
        wizard.action_confirm()
        st_line = self.credits() - before
        self.assertEqual(len(st_line), 1)
        self.assertRecordValues(st_line, [{
            "journal_id": self.bank_journal.id, "date": credited, "amount": 180.25,
            "is_reconciled": True}])
        self.assertIn(self.batch.name, st_line.payment_ref)
        self.assertIn("BNK-4711", st_line.payment_ref)
        self.assertTrue(all(self.transit().mapped("reconciled")))
        # the transit lines are paid by this statement line, nothing else
        counterparts = self.transit().matched_credit_ids.credit_move_id
        self.assertEqual(counterparts.move_id, st_line.move_id)
        self.assertRecordValues(self.batch, [{"state": "done", "settled_date": credited}])
        self.assertEqual(set(self.batch.line_ids.mapped("state")), {"collected"})
        self.assertEqual(set(self.invoices_all.mapped("payment_state")), {"paid"})
        self.assertEqual(set(self.invoices_all.mapped("sepa_state")), {"collected"})
        # a second credit is impossible: the button is gone, the wizard refuses
        button = arch_of(self.batch).find(".//button[@name='action_open_bank_credit']")
        self.assertTrue(evaluate(button.get("invisible"), self.batch))
        with self.assertRaisesRegex(UserError, "it is Settled"):
            self.batch.action_open_bank_credit()
        with self.assertRaisesRegex(UserError, "it is Settled"):
            self.env["sepa.bank.credit"].create({
                "batch_id": self.batch.id, "amount": 1.0}).action_confirm()
        self.assertEqual(self.credits() - before, st_line)

    def test_button_only_on_sent_batches(self):
        button = arch_of(self.batch).find(".//button[@name='action_open_bank_credit']")
        self.assertIsNotNone(button)
        self.assertFalse(evaluate(button.get("invisible"), self.batch))
        draft = self.create_batch(invoice_ids=self.invoice(self.recurring_partner, 5.0).ids)
        self.assertTrue(evaluate(button.get("invisible"), draft))
        with self.assertRaisesRegex(UserError, "it is Draft"):
            draft.action_open_bank_credit()

    def test_partial_credit_of_one_block_then_the_rest(self):
        wizard = self.wizard(amount=150.25, bank_reference="DAY-1")
        self.assertIn(self.block_first, wizard.open_blocks)
        self.assertIn(self.block_recurring, wizard.open_blocks)
        first_day = self.today - timedelta(days=3)
        wizard.date = first_day
        before = self.credits()
        wizard.action_confirm()
        st_line = self.credits() - before
        self.assertRecordValues(st_line, [{
            "amount": 150.25, "date": first_day, "is_reconciled": True}])
        self.assertIn(self.block_first, st_line.payment_ref)
        self.assertIn("DAY-1", st_line.payment_ref)
        self.assertTrue(self.transit(self.block_first).reconciled)
        self.assertFalse(self.transit(self.block_recurring).reconciled)
        self.assertRecordValues(self.batch, [{"state": "sent", "settled_date": False}])
        self.assertEqual(set(self.invoices_all.mapped("payment_state")), {"in_payment"})
        # the chatter says what remains open: block, collection date, amount
        note = self.batch.message_ids[0].body
        recurring_line = self.batch.line_ids.filtered(
            lambda line: line.pmt_inf_id == self.block_recurring)
        self.assertIn(self.block_recurring, note)
        self.assertIn(format_date(self.env, recurring_line.collection_date), note)
        self.assertIn("30.00", note)
        # the rest: the wizard proposes what the bank still owes
        rest = self.wizard()
        self.assertEqual(rest.amount, 30.0)
        self.assertNotIn(self.block_first, rest.open_blocks)
        rest.action_confirm()
        self.assertRecordValues(self.batch, [{"state": "done", "settled_date": self.today}])
        self.assertEqual(len(self.credits() - before), 2)
        self.assertEqual(set(self.invoices_all.mapped("payment_state")), {"paid"})

    def test_reject_before_settlement_the_rest_is_credited(self):
        """The bank rejected the recurring debit before settlement (registered): it
        credits the rest, which the wizard proposes and which settles the batch."""
        recurring = self.batch.line_ids.filtered(
            lambda line: line.pmt_inf_id == self.block_recurring)
        self.env["sepa.storno"].register([{
            "batch_line_id": recurring.id, "reason_code": "MS02", "kind": "reject",
            "date": self.today, "source": "manual"}])
        self.assertEqual(self.batch.state, "sent")
        wizard = self.wizard()
        self.assertEqual(wizard.amount, 150.25)
        self.assertEqual(wizard.amount, self.batch.bank_credit_amount)
        self.assertNotIn(self.block_recurring, wizard.open_blocks)
        wizard.action_confirm()
        self.assertRecordValues(self.batch, [{"state": "done", "settled_date": self.today}])
        self.assertEqual(set((self.inv_first_1 | self.inv_first_2).mapped("payment_state")),
                         {"paid"})

    def test_amount_of_no_whole_blocks_is_refused(self):
        before = self.credits()
        for amount in (100.0, 180.24, 180.26, 200.0):
            wizard = self.wizard(amount=amount)
            with self.assertRaises(UserError) as refusal:
                wizard.action_confirm()
            message = str(refusal.exception)
            for block, figure in ((self.block_first, "150.25"),
                                  (self.block_recurring, "30.00")):
                self.assertIn(block, message)
                self.assertIn(figure, message)
        self.assertEqual(self.credits(), before)
        self.assertEqual(self.batch.state, "sent")
        self.assertFalse(any(self.transit().mapped("reconciled")))

    def test_bad_input_is_refused_nothing_written(self):
        before = self.credits()
        cases = [
            ({"amount": 0.0}, "greater than zero"),
            ({"amount": -30.0}, "greater than zero"),
            ({"date": self.today + timedelta(days=1)}, "future"),
            ({"date": self.batch.sent_date - timedelta(days=1)}, "sent"),
        ]
        for values, error in cases:
            wizard = self.wizard(**values)
            with self.assertRaisesRegex(UserError, error):
                wizard.action_confirm()
        self.assertEqual(self.credits(), before)
        self.assertRecordValues(self.batch, [{"state": "sent", "settled_date": False}])

    def test_equal_blocks_the_earliest_is_settled(self):
        """Two open blocks of the same amount: a credit of that amount pays the one
        collected first (the bank credits in date order)."""
        invoices = self.invoices(self.recurring_partner, [20.0, 20.0])
        wizard = self.propose(invoice_ids=invoices.ids)
        earliest = earliest_collection_date(self.today, "CORE", bank_cutoff_days=1)
        for days, line in enumerate(wizard.line_ids.sorted("id")):
            line.collection_date = add_business_days(earliest, 3 - 2 * days)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        self.wizard(batch, amount=20.0).action_confirm()
        first = batch.line_ids.sorted("collection_date")[0]
        paid = batch._transit_lines().filtered("reconciled")
        self.assertEqual(len(paid), 1)
        self.assertIn(first.pmt_inf_id, paid.name)

    # ------------------------------------------------------------------
    # who may
    # ------------------------------------------------------------------

    def test_billing_user_settles(self):
        """An invoicing (billing) user without the full accounting features, who may not
        create bank statement lines in Odoo, registers the credit."""
        user = new_test_user(self.env, login="sepa_credit_billing",
                             groups="account.group_account_invoice",
                             company_id=self.company.id)
        self.assertFalse(user.has_group("account.group_account_user"))
        self.assertFalse(user.has_group("account.group_account_readonly"))
        env = self.env(user=user)
        with self.assertRaises(AccessError):
            env["account.bank.statement.line"].create({
                "journal_id": self.bank_journal.id, "amount": 1.0, "payment_ref": "x"})
        wizard = self.wizard(env=env, bank_reference="BILLING")
        self.assertEqual(wizard.env.user, user)
        wizard.action_confirm()
        self.assertRecordValues(self.batch, [{"state": "done", "settled_date": self.today}])
        self.assertEqual(set(self.invoices_all.mapped("payment_state")), {"paid"})
        st_line = self.credits()
        self.assertEqual(st_line.create_uid, user)


@tagged("post_install", "-at_install")
class TestBankCreditTour(SepaTourCase):
    def test_bank_credit_tour(self):
        """A billing user registers the bank's credit in the browser."""
        journal = self.setup_creditor()
        partner = self.env["res.partner"].create({
            "name": "Tour Credit Debtor", "country_id": self.env.ref("base.nl").id})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id, "signature_date": "2025-01-15",
            "partner_bank_id": self.env["res.partner.bank"].create({
                "acc_number": IBAN_B, "partner_id": partner.id}).id})
        mandate.action_activate()
        partner.sepa_collect = True
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": 125.0,
                "tax_ids": [Command.clear()]})],
        })
        invoice.action_post()
        proposal = self.env["sepa.batch.proposal"].create({
            "journal_id": journal.id, "invoice_ids": [Command.set(invoice.ids)]})
        proposal.action_propose()
        batch = self.env["sepa.batch"].browse(proposal.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        new_test_user(self.env, login="sepa_credit_tour", groups="account.group_account_invoice",
                      company_id=self.env.company.id)
        self.start_tour(f"/odoo/action-sepa_direct_debit.action_sepa_batch/{batch.id}",
                        "sepa_bank_credit_tour", login="sepa_credit_tour")
        self.assertRecordValues(batch, [{"state": "done"}])
        st_line = self.env["account.bank.statement.line"].search([
            ("journal_id", "=", journal.id)])
        self.assertRecordValues(st_line, [{"amount": 125.0, "is_reconciled": True}])
        self.assertIn("TOUR-CREDIT-1", st_line.payment_ref)
        self.assertEqual(invoice.payment_state, "paid")
