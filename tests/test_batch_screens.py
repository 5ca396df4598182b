from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from ..sepa.calendar import earliest_collection_date, latest_delivery_date, next_business_day
from .common import IBAN_C, IBAN_D, SepaBatchCommon


@tagged("post_install", "-at_install")
class TestBatchScreens(SepaBatchCommon):
    """What a bookkeeper meets in the browser: dates, statuses, links."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inv_first = cls.invoice(cls.debtor, 100.0)
        cls.inv_recurring = cls.invoice(cls.recurring_partner, 30.0)
        cls.today = fields.Date.context_today(cls.env.user)

    def earliest(self):
        return earliest_collection_date(self.today, "CORE", bank_cutoff_days=1)

    def edit_first_line(self, wizard, collection_date):
        """Change the collection date of the first proposed debit as in the browser."""
        with Form(wizard) as form, form.line_ids.edit(0) as line:
            line.collection_date = collection_date
        return wizard.line_ids.filtered(lambda line: line.collection_date == collection_date)

    # ------------------------------------------------------------------
    # 12. late debits
    # ------------------------------------------------------------------

    def test_shift_moves_a_date_edited_in_the_form(self):
        wizard = self.propose()
        late = self.edit_first_line(wizard, self.today)
        self.assertEqual(len(late), 1)
        # The server computed the deadline of the edited date: the banner shows.
        self.assertLess(late.latest_delivery_date, self.today)
        self.assertTrue(wizard.delivery_date_passed)
        wizard.action_shift_dates()
        self.assertRecordValues(late, [{"collection_date": self.earliest()}])
        self.assertGreaterEqual(late.latest_delivery_date, self.today)
        self.assertFalse(wizard.delivery_date_passed)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(set(batch.line_ids.mapped("collection_date")), {self.earliest()})

    def test_create_batch_refuses_late_debits(self):
        wizard = self.propose()
        late = self.edit_first_line(wizard, self.today)
        with self.assertRaisesRegex(UserError, rf"{late.invoice_id.name} \(collection date"):
            wizard.action_create_batch()
        self.assertFalse(self.env["sepa.batch"].search([]))
        late.selected = False  # the others may go
        self.assertTrue(wizard.action_create_batch()["res_id"])

    def test_generation_refuses_late_debits(self):
        batch = self.create_batch()
        # Tomorrow's collection: a valid file, but it had to reach the bank earlier.
        soon = next_business_day(self.today + timedelta(days=1))
        batch.line_ids.write({"collection_date": soon})
        with self.assertRaisesRegex(
                UserError, rf"latest delivery date of 2 debits has passed.*"
                rf"{self.inv_first.name} \(collection date .*Cancel the batch"):
            batch.action_generate()
        self.assertRecordValues(batch, [{"state": "draft", "file": False}])

    # ------------------------------------------------------------------
    # 13. generate → the form shows the next step
    # ------------------------------------------------------------------

    def test_generate_downloads_and_reloads_the_form(self):
        batch = self.create_batch()
        action = batch.action_generate()
        # Downloaded in a new tab, then the form closes the action and reloads itself.
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["target"], "new")
        self.assertTrue(action["close"])
        self.assertIn(f"/web/content/sepa.batch/{batch.id}/file/", action["url"])
        self.assertEqual(batch.state, "generated")

    # ------------------------------------------------------------------
    # 14, 15. deadline and collection dates on the batch
    # ------------------------------------------------------------------

    def test_batch_shows_deadline_and_collection_dates(self):
        later = self.earliest() + timedelta(days=20)
        wizard = self.propose()
        self.edit_first_line(wizard, later)
        deadline = latest_delivery_date(self.earliest(), "CORE", bank_lead_days=1)
        self.assertEqual(wizard.latest_delivery_date, deadline)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertRecordValues(batch, [{
            "collection_date": self.earliest(),
            "collection_date_last": later,
            "latest_delivery_date": deadline,
        }])
        self.assertIn(" – ", batch.collection_dates)
        self.company.sepa_bank_lead_days = 3
        self.assertEqual(batch.latest_delivery_date,
                         latest_delivery_date(self.earliest(), "CORE", bank_lead_days=3))
        batch.line_ids.write({"collection_date": later})
        self.assertNotIn(" – ", batch.collection_dates)

    def test_cover_letter_shows_deadline_and_dates(self):
        batch = self.create_batch()
        batch.action_generate()
        flat = self.render_pdf_text("sepa_direct_debit.action_report_sepa_batch", batch)
        self.assertIn("Deliver to the bank by", flat)
        self.assertIn(batch.collection_dates, flat)
        self.assertIn(fields.Date.to_date(batch.latest_delivery_date).strftime("%m/%d/%Y"),
                      flat)

    # ------------------------------------------------------------------
    # 16. status words
    # ------------------------------------------------------------------

    def test_status_says_why_an_invoice_is_not_collected(self):
        revoked_partner, revoked = self.create_debtor("Pieter Jansen", IBAN_C)
        revoked._revoke(self.today, "Left")
        to_sign_partner, to_sign = self.create_debtor("Anna Bakker", IBAN_D, state="draft")
        b2b_partner, _b2b = self.create_debtor("Bakkerij BV", IBAN_C, scheme="B2B")
        inv_revoked = self.invoice(revoked_partner, 10.0)
        inv_to_sign = self.invoice(to_sign_partner, 11.0)
        inv_b2b = self.invoice(b2b_partner, 12.0)
        self.env.ref("base.USD").active = True
        inv_usd = self.invoice(self.debtor, 13.0, currency=self.env.ref("base.USD"))
        self.assertRecordValues(inv_revoked | inv_to_sign | inv_b2b | inv_usd, [
            {"sepa_state": "mandate_revoked"},
            {"sepa_state": "mandate_draft"},
            {"sepa_state": "to_collect"},  # a B2B proposal takes it
            {"sepa_state": "not_euro"},
        ])
        # The status follows the mandate.
        self.mandate_recurring._expire()
        self.assertEqual(self.inv_recurring.sepa_state, "mandate_expired")
        self.mandate_first.action_close()
        self.assertEqual(self.inv_first.sepa_state, "no_mandate")  # a closed one is none
        to_sign.action_activate()
        self.assertEqual(inv_to_sign.sepa_state, "to_collect")
        # Exactly what a proposal of each scheme takes is "To collect".
        to_collect = self.env["account.move"].search([("sepa_state", "=", "to_collect")])
        proposed = (self.propose().line_ids | self.propose(scheme="B2B").line_ids).invoice_id
        self.assertEqual(to_collect, proposed)
        labels = dict(self.env["account.move"]._fields["sepa_state"]._description_selection(
            self.env))
        self.assertEqual(labels["mandate_revoked"], "Mandate revoked")
        self.assertEqual(labels["not_euro"], "Not in euro")

    def test_no_mandate(self):
        partner, mandate = self.create_debtor("Kees Visser", IBAN_C, state="draft")
        mandate.unlink()
        invoice = self.invoice(partner, 15.0)
        self.assertEqual(invoice.sepa_state, "no_mandate")
        partner.sepa_collect = False
        partner.sepa_mandate_ids.unlink()
        self.assertEqual(invoice.sepa_state, "none")

    def test_in_payment_until_settled(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_send()
        invoices = self.inv_first | self.inv_recurring
        self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
        self.assertEqual(set(invoices.mapped("status_in_payment")), {"in_payment"})
        # Odoo's own computation agrees (the path of invoices reconciled by the ORM).
        invoices.invalidate_recordset(["payment_state"])
        self.env.add_to_compute(invoices._fields["payment_state"], invoices)
        invoices._recompute_recordset(["payment_state"])
        self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
        self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id,
            "date": self.today,
            "payment_ref": f"SEPA INCASSO {batch.name}",
            "amount": 130.0,
        })
        self.assertEqual(batch.state, "done")
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"collected"})
        self.env.add_to_compute(invoices._fields["payment_state"], invoices)
        invoices._recompute_recordset(["payment_state"])
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})

    def test_cancel_after_send_reopens(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_send()
        batch.action_cancel()
        invoices = self.inv_first | self.inv_recurring
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"to_collect"})

    # ------------------------------------------------------------------
    # 17. no dead ends
    # ------------------------------------------------------------------

    def test_batch_cannot_be_created_empty(self):
        for view in ("view_sepa_batch_form", "view_sepa_batch_list"):
            arch = self.env["sepa.batch"].get_view(
                self.env.ref(f"sepa_direct_debit.{view}").id)["arch"]
            self.assertIn('create="0"', arch)

    def test_create_batch_from_selected_invoices(self):
        later = self.invoice(self.recurring_partner, 40.0,
                             invoice_date=self.today + timedelta(days=60))
        action = (self.inv_first | later).action_sepa_propose()
        wizard = self.env["sepa.batch.proposal"].browse(action["res_id"])
        self.assertTrue(wizard.proposed)
        self.assertEqual(wizard.line_ids.invoice_id, self.inv_first | later)
        server_action = self.env.ref("sepa_direct_debit.action_sepa_propose_invoices")
        self.assertEqual(server_action.binding_model_id.model, "account.move")
        result = server_action.with_context(
            active_model="account.move", active_ids=self.inv_recurring.ids).run()
        self.assertEqual(self.env["sepa.batch.proposal"].browse(result["res_id"])
                         .line_ids.invoice_id, self.inv_recurring)

    def test_batch_opens_in_its_own_action(self):
        action = self.propose().action_create_batch()
        batches = self.env.ref("sepa_direct_debit.action_sepa_batch")
        self.assertEqual(action["id"], batches.id)
        self.assertEqual(action["path"], "sepa-batches")
        self.assertEqual(action["target"], "main")
        self.assertEqual(action["views"], [(False, "form")])

    def test_links_between_invoices_mandates_and_batches(self):
        batch = self.create_batch()
        self.assertEqual(self.inv_first.sepa_invoice_batch_id, batch)
        self.assertEqual(self.env["account.move"].search(batch.action_open_invoices()["domain"]),
                         self.inv_first | self.inv_recurring)
        batch.action_generate()
        batch.action_send()
        self.assertEqual(batch.move_id.sepa_batch_id, batch)
        self.assertEqual(batch.action_open_move()["res_id"], batch.move_id.id)
        mandate = self.mandate_first
        self.assertRecordValues(mandate, [{"invoice_count": 1, "batch_count": 1}])
        Move = self.env["account.move"]
        self.assertEqual(Move.search(mandate.action_open_invoices()["domain"]), self.inv_first)
        self.assertEqual(self.env["sepa.batch"].search(mandate.action_open_batches()["domain"]),
                         batch)
        # each list opens under its own title: the web client shows display_name
        self.assertEqual([action["display_name"] for action in (
            batch.action_open_invoices(), batch.action_open_stornos(),
            batch.action_open_notice_lines(), mandate.action_open_invoices(),
            mandate.action_open_batches(), mandate.action_open_stornos())], [
            f"Invoices of {batch.name}", f"Failed Debits of {batch.name}",
            f"Pre-notifications of {batch.name}", f"Invoices of {mandate.name}",
            f"Batches of {mandate.name}", f"Failed Debits of {mandate.name}"])
