"""What the click-through review of a billing-only bookkeeper's month found (issue 18):
an invoice whose mandate's account is no longer valid said "To collect" while no
proposal takes it, and screens that cut off or hid what the bookkeeper needs."""

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .test_storno_control import ControlCommon

NEW_IBAN = "NL98BUNQ2025551234"


@tagged("post_install", "-at_install")
class TestUiReview(ControlCommon):

    def arch(self, model, view_type="form", view=None):
        view_id = self.env.ref(view).id if view else None
        return etree.fromstring(self.env[model].get_view(view_id, view_type)["arch"])

    # ------------------------------------------------------------------
    # the invoice of a mandate whose account is no longer valid
    # ------------------------------------------------------------------

    def test_invoice_of_a_closed_account_is_not_to_collect(self):
        """AC04: the mandate is not proposed until its IBAN changes, so its next invoice
        says so (Account no longer valid, a status that cannot be collected), not "To
        collect"; a new IBAN makes it collectable again."""
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), code="AC04", kind="return")
        mandate = self.mandate_recurring
        self.assertTrue(mandate.account_invalid)
        next_invoice = self.invoice(self.recurring_partner, 35.0)
        self.assertEqual(next_invoice.sepa_state, "account_invalid")
        label = dict(next_invoice._fields["sepa_state"]._description_selection(self.env))
        self.assertEqual(label["account_invalid"], "Account no longer valid")
        Move = self.env["account.move"]
        self.assertNotIn(next_invoice, Move.search([("sepa_state", "=", "to_collect")]))
        # listed with the invoices that cannot be collected
        search = self.arch("account.move", "search",
                           "sepa_direct_debit.view_account_invoice_filter_sepa")
        blocked = search.xpath("//filter[@name='sepa_blocked']")[0].get("domain")
        self.assertIn("account_invalid", blocked)
        # the failed invoice itself stays Failed until it is decided
        self.assertEqual(self.inv_recurring.sepa_state, "failed")
        # a new IBAN (an amendment) clears it
        mandate.partner_bank_id = self.env["res.partner.bank"].create(
            {"acc_number": NEW_IBAN, "partner_id": mandate.partner_id.id})
        self.assertFalse(mandate.account_invalid)
        self.assertEqual(next_invoice.sepa_state, "to_collect")

    # ------------------------------------------------------------------
    # screens
    # ------------------------------------------------------------------

    def test_proposal_dialog_is_wide(self):
        """The proposal's columns (invoice, mandate, sequence type, dates) were cut off in
        the default dialog: it opens extra-large, also when it reopens itself."""
        action = self.env.ref("sepa_direct_debit.action_sepa_batch_proposal")
        self.assertEqual(safe_eval(action.context), {"dialog_size": "extra-large"})
        wizard = self.env["sepa.batch.proposal"].create({})
        self.assertEqual(wizard.action_propose()["context"]["dialog_size"], "extra-large")

    def test_control_shows_the_columns_its_lines_need(self):
        """A control of recurring debits that failed for a reason that can succeed again
        has no sequence type or Retry Anyway column (they took the room of the note and
        the warning); a failed first debit or an AC04 brings them."""
        arch = self.arch("sepa.control", view="sepa_direct_debit.view_sepa_control_form")
        columns = {field.get("name"): field.get("column_invisible")
                   for field in arch.xpath("//field[@name='line_ids']/list/field")}
        self.assertEqual(columns["sequence_type"], "not parent.has_first_debit")
        self.assertEqual(columns["sequence_note"], "not parent.has_first_debit")
        self.assertEqual(columns["retry_anyway"], "not parent.has_new_account_reason")
        # the mandate and its score on demand: the note and the warning need the room
        optional = {field.get("name"): field.get("optional")
                    for field in arch.xpath("//field[@name='line_ids']/list/field")}
        self.assertEqual([optional["mandate_id"], optional["storno_score"]], ["hide", "hide"])
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), code="AM04", kind="return")
        control = self.open_control(batch)
        self.assertRecordValues(control, [{"has_first_debit": False,
                                           "has_new_account_reason": False}])
        self.register(self.line_of(batch, self.inv_first_1), code="AC04", kind="return")
        control = self.open_control(batch)
        self.assertRecordValues(control, [{"has_first_debit": True,
                                           "has_new_account_reason": True}])

    def test_screens_the_review_found_cut_or_unclear(self):
        # settings: the pre-notification fields beside their labels
        arch = self.arch("res.config.settings")
        for name in ("sepa_notice_method", "sepa_notice_check", "sepa_notice_check_from"):
            field = arch.xpath(f"//setting[@id='sepa_notice_setting']//field[@name='{name}']")
            self.assertEqual(field[0].getparent().get("class"), "col-lg-7", name)
        # the mandate form: the "account no longer valid" alert below the title, where
        # the ribbon does not cover its end
        arch = self.arch("sepa.mandate", view="sepa_direct_debit.view_sepa_mandate_form")
        sheet = arch.xpath("//sheet")[0]
        children = list(sheet)
        alert = arch.xpath("//div[@name='account_invalid_alert']")[0]
        title = arch.xpath("//div[hasclass('oe_title')]")[0]
        self.assertGreater(children.index(alert), children.index(title))
        # the failed debits list: room for the customer, reference and invoices
        arch = self.arch("sepa.storno", "list", "sepa_direct_debit.view_sepa_storno_list")
        optional = {field.get("name"): field.get("optional") for field in arch.iter("field")}
        self.assertEqual([optional["mandate_id"], optional["batch_id"], optional["state"]],
                         ["hide"] * 3)
        # the batch form: no empty Accounting group before the batch is sent
        arch = self.arch("sepa.batch", view="sepa_direct_debit.view_sepa_batch_form")
        group = arch.xpath("//group[@name='accounting']")[0]
        self.assertIn("not move_id", group.get("invisible") or "")
        # the customer: an agreed period of 0 days is the company's
        arch = self.arch("res.partner", view="sepa_direct_debit.view_partner_form_sepa")
        self.assertTrue(arch.xpath("//span[@invisible='sepa_notice_days']"))

    def test_texts_a_billing_user_can_follow(self):
        """What the screens tell a bookkeeper with the billing rights only: Mark as Sent
        says the invoices show In Payment (not paid) until the bank credits; the sample
        statement and Match Bank Statements name the way without a statement import
        (Register Bank Credit, Import Return File)."""
        arch = self.arch("sepa.batch", view="sepa_direct_debit.view_sepa_batch_form")
        [send] = arch.xpath("//button[@name='action_send']")
        self.assertIn("In Payment", send.get("confirm"))
        [sample] = arch.xpath("//button[@name='action_download_sample_statement']")
        self.assertIn("Register Bank Credit", sample.get("help"))
        self.assertIn("Import Return File", sample.get("help"))
        batch = self.send_batch()
        with self.assertRaisesRegex(UserError, r"No bank statement line matches these "
                                    r"batches yet.*Register Bank Credit.*Import Return File"):
            batch.action_match_statements()

    def test_batch_entry_is_not_reset_to_draft_by_hand(self):
        """The batch's journal entry shows Reset to Draft to a billing user: resetting it
        would take the payments off the invoices behind the batch's back (still Sent or
        Settled). It is refused, pointing at Cancel on the batch; the entry stays posted."""
        batch = self.send_batch()
        move = batch.move_id
        with self.assertRaisesRegex(UserError, rf"{batch.name}.*Cancel on the batch"):
            move.button_draft()
        self.assertEqual(move.state, "posted")
        self.assertEqual(batch.state, "sent")
        # the batch's own Cancel still undoes it
        batch.action_cancel()
        self.assertEqual(batch.state, "cancel")

    def reverse_by_hand(self, move):
        """Odoo's Reverse Entry dialog on ``move``, confirmed."""
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=move.ids).create({
                "journal_id": move.journal_id.id, "date": move.date})
        return wizard.reverse_moves()

    def test_batch_and_storno_entries_are_not_reversed_by_hand(self):
        """Odoo's Reverse Entry on the batch's entry or a failed debit's entry would undo
        the accounting behind the batch's or storno's back (still Sent, still Registered):
        refused, pointing at their own Cancel; nothing is reversed."""
        batch = self.send_batch()
        with self.assertRaisesRegex(UserError, rf"{batch.name}.*Cancel on the batch"):
            self.reverse_by_hand(batch.move_id)
        storno = self.register(self.line_of(batch, self.inv_recurring), code="AM04",
                               kind="reject")
        with self.assertRaisesRegex(UserError, r"Cancel Storno on the failed debit"):
            self.reverse_by_hand(storno.move_id)
        self.assertFalse(self.env["account.move"].search_count(
            [("reversed_entry_id", "in", (batch.move_id | storno.move_id).ids)]))
        # their own Cancel still reverses them
        storno.action_cancel()
        self.assertEqual(storno.state, "cancelled")
        batch.action_cancel()
        self.assertEqual(batch.state, "cancel")

    def test_upgrade_says_account_no_longer_valid(self):
        """Invoices stored "To collect" before the status existed (18.0.1.5.0) say
        "Account no longer valid" after the update when their mandate is flagged."""
        from .test_storno_reasons import load_migration
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), code="AC04", kind="return")
        next_invoice = self.invoice(self.recurring_partner, 35.0)
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET sepa_state = 'to_collect' WHERE id = %s",
                            [next_invoice.id])
        self.env.invalidate_all()
        load_migration("18.0.1.5.0", "post-migrate").migrate(self.env.cr, "18.0.1.4.0")
        self.env.invalidate_all()
        self.assertEqual(next_invoice.sepa_state, "account_invalid")
