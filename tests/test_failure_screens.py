"""The failure screens (issue 18, items 9, 10, 11, 13, 14): the batch form after failed
debits, the return import's preview and its errors in the user's terms, the control's
columns, the small things (currency, fee label, file name, score column, Dutch words),
chatter notes in the reader's language and the reminder to deliver the file."""

import base64
import html
import re
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.mail.tools.discuss import Store

from .common import ReturnImportHelpers, SepaBatchCommon
from .test_return_import import camt054, entry, pain002, return_tx


def arch_of(model, view_type="form", view_ref=None):
    """The arch as the web client gets it (x2many subviews inlined)."""
    views = model.get_views([(model.env.ref(view_ref).id if view_ref else False, view_type)])
    return etree.fromstring(views["views"][view_type]["arch"])


def evaluate(expression, record, **extra):
    """Evaluate a view modifier (``invisible=...``) on a record's current values, as
    the web client does: many2one as ids, x2many as id lists."""
    values = {"today": fields.Date.to_string(fields.Date.context_today(record)), **extra}
    for name in set(re.findall(r"[A-Za-z_]\w*", expression or "")) & set(record._fields):
        field = record._fields[name]
        value = record[name]
        if field.type == "many2one":
            value = value.id
        elif field.type in ("one2many", "many2many"):
            value = value.ids
        values[name] = value
    return bool(safe_eval(expression or "False", values))


@tagged("post_install", "-at_install")
class TestFailureScreens(ReturnImportHelpers, SepaBatchCommon):
    return_filename = "camt054-2030-02-05.xml"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_sent_cycle_batch()
        cls.company.sepa_storno_charge_account_id = \
            cls.company_data["default_account_expense"]

    # helpers


    def returns_file(self, charges=None, amount_recurring=30.0):
        """A camt.054 returning both debits of the batch (the merged first debit of
        150.25 and the recurring one of 30.00)."""
        e2e_first = self.first[0].end_to_end_id
        return camt054([
            entry([return_tx(e2e_first, 150.25, "AM04", ref="TX-1")], 150.25, "R-1"),
            entry([return_tx(self.recurring.end_to_end_id, amount_recurring, "MD06",
                             rtyp="RFND", ref="TX-2", charges=charges)],
                  amount_recurring, "R-2"),
        ])

    # ------------------------------------------------------------------
    # 9. the batch form after failed debits
    # ------------------------------------------------------------------

    def test_failed_debits_smart_button_opens_the_batch_stornos(self):
        self.batch._settle()
        self.assertEqual(self.batch.storno_count, 0)
        button = arch_of(self.batch).find(".//button[@name='action_open_stornos']")
        self.assertIsNotNone(button)
        self.assertEqual(button.find("field").get("name"), "storno_count")
        self.assertTrue(evaluate(button.get("invisible"), self.batch))
        self.preview(self.returns_file()).action_apply()
        self.assertEqual(self.batch.storno_count, 2)
        self.assertFalse(evaluate(button.get("invisible"), self.batch))
        action = self.batch.action_open_stornos()
        stornos = self.env["sepa.storno"].search(action["domain"])
        self.assertEqual(stornos.batch_line_id, self.first[0] | self.recurring)
        self.assertEqual(action["res_model"], "sepa.storno")
        # a cancelled storno is not a failed debit any more
        stornos.filtered(lambda s: s.batch_line_id == self.recurring).action_cancel()
        self.batch.invalidate_recordset(["storno_count"])
        self.assertEqual(self.batch.storno_count, 1)

    def test_failed_lines_show_their_reason(self):
        self.batch._settle()
        self.preview(self.returns_file()).action_apply()
        lines = arch_of(self.batch).find(".//field[@name='line_ids']/list")
        self.assertIsNotNone(lines.find("field[@name='failure_reason_id']"))
        am04 = self.env["sepa.return.reason"].search([("code", "=", "AM04")])
        md06 = self.env["sepa.return.reason"].search([("code", "=", "MD06")])
        # both invoices of the merged debit show the debit's reason
        self.assertEqual(self.first.mapped("failure_reason_id"), am04)
        self.assertEqual(len(self.first), 2)
        self.assertEqual(self.recurring.failure_reason_id, md06)
        other = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 7.0).id])
        self.assertFalse(other.line_ids.failure_reason_id)

    def test_expected_bank_credit_leaves_out_rejects_before_settlement(self):
        self.assertEqual(self.batch.amount_total, 180.25)
        self.assertEqual(self.batch.bank_credit_amount, 180.25)
        line = self.recurring
        wizard = self.preview(pain002(self.batch.name, [(line.pmt_inf_id, "PART", None, [
            (line.end_to_end_id, "MS02", 30.0, "MDT-RCUR", line.collection_date)])]))
        wizard.action_apply()
        self.assertEqual(self.batch.state, "sent")
        self.batch.invalidate_recordset(["bank_credit_amount"])
        self.assertEqual(self.batch.bank_credit_amount, 150.25)
        # it is what the transit still waits for: the bank's credit that settles the batch
        open_transit = sum(self.batch._transit_lines().mapped("amount_residual"))
        self.assertAlmostEqual(open_transit, self.batch.bank_credit_amount)
        self.batch._settle()
        # a return after settlement is debited by the bank separately: not deducted
        e2e = self.first[0].end_to_end_id
        self.preview(camt054([entry([return_tx(e2e, 150.25, "AM04", ref="TX-9")], 150.25,
                                    "R-9")])).action_apply()
        self.batch.invalidate_recordset(["bank_credit_amount"])
        self.assertEqual(self.batch.bank_credit_amount, 150.25)
        self.assertEqual(self.batch.storno_count, 2)
        field = arch_of(self.batch).find(".//field[@name='bank_credit_amount']")
        self.assertFalse(evaluate(field.get("invisible"), self.batch))
        self.assertIn("minus the debits rejected before settlement",
                      self.batch._fields["bank_credit_amount"].help)

    def test_one_note_per_batch_and_import(self):
        self.batch._settle()
        other = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 7.0).id])
        other.action_generate()
        other.action_send()
        before = {batch: batch.message_ids for batch in (self.batch, other)}
        e2e_first = self.first[0].end_to_end_id
        data = camt054([
            entry([return_tx(e2e_first, 150.25, "AM04", ref="TX-1")], 150.25, "R-1"),
            entry([return_tx(self.recurring.end_to_end_id, 30.0, "AM04", ref="TX-2")],
                  30.0, "R-2"),
            entry([return_tx(other.line_ids.end_to_end_id, 7.0, "AC04", ref="TX-3")],
                  7.0, "R-3"),
        ])
        self.preview(data).action_apply()
        notes = (self.batch.message_ids - before[self.batch]).filtered(
            lambda message: "registered from" in (message.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("2 failed debits registered from camt054-2030-02-05.xml.", notes.body)
        notes = (other.message_ids - before[other]).filtered(
            lambda message: "registered from" in (message.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("1 failed debit registered from camt054-2030-02-05.xml.", notes.body)

    # ------------------------------------------------------------------
    # 10. the preview's and the control's columns
    # ------------------------------------------------------------------

    def test_import_dialogs_are_extra_large(self):
        action = self.env.ref("sepa_direct_debit.action_sepa_return_import")
        self.assertEqual(safe_eval(action.context)["dialog_size"], "extra-large")
        wizard = self.wizard(self.returns_file())
        self.assertEqual(wizard.action_preview()["context"]["dialog_size"], "extra-large")
        self.batch._settle()
        wizard.action_apply()
        control = self.batch.action_open_control()
        self.assertEqual(control["context"]["dialog_size"], "extra-large")

    def test_preview_numbers_from_one_and_shows_the_debit_amount_and_charge(self):
        self.batch._settle()
        # the bank debited 31.50 for the returned 30.00: the amount includes its charge
        wizard = self.preview(self.returns_file(charges=1.5, amount_recurring=31.5))
        columns = arch_of(wizard).find(".//field[@name='match_line_ids']/list")
        names = [field.get("name") for field in columns.iter("field")
                 if field.get("column_invisible") != "1"]
        number = columns.find("field[@name='number']")
        self.assertEqual(wizard.line_ids._fields["number"].string, "#")
        self.assertEqual(names.index("number"), 0)
        self.assertEqual(wizard.match_line_ids.mapped("number"), [1, 2])
        # the charge beside the amount, which is the debit's
        self.assertEqual(names.index("charge_amount"), names.index("amount") + 1)
        self.assertRecordValues(wizard.match_line_ids, [
            {"amount": 150.25, "charge_amount": 0.0},
            {"amount": 30.0, "charge_amount": 1.5},
        ])
        self.assertEqual(wizard.match_amount, 180.25)
        charge = columns.find("field[@name='charge_amount']")
        self.assertFalse(evaluate(charge.get("column_invisible"), wizard.line_ids[0],
                                  parent=wizard))
        self.assertIsNotNone(number)
        # what is registered: the debit's amount and the file's charge
        stornos = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        recurring = stornos.filtered(lambda s: s.batch_line_id == self.recurring)
        self.assertRecordValues(recurring, [{"amount": 30.0, "charge_amount": 1.5}])

    def test_charge_column_hidden_without_charges(self):
        wizard = self.preview(self.returns_file())
        self.assertEqual(wizard.charge_count, 0)
        columns = arch_of(wizard).find(".//field[@name='match_line_ids']/list")
        charge = columns.find("field[@name='charge_amount']")
        self.assertTrue(evaluate(charge.get("column_invisible"), wizard.line_ids[0],
                                 parent=wizard))
        # the decisions come first: the optional columns are the details
        optional = {field.get("name") for field in columns.iter("field")
                    if field.get("optional")}
        self.assertFalse(optional & {"number", "partner_id", "invoice_ids", "amount",
                                     "reason_code", "note"})

    def test_control_shows_the_decision_columns_first(self):
        self.batch._settle()
        self.preview(self.returns_file()).action_apply()
        control = self.env["sepa.control"].browse(self.batch.action_open_control()["res_id"])
        columns = arch_of(control).find(".//field[@name='line_ids']/list")
        # every column in order; the details come after the decisions or are hidden
        # until asked for (optional="hide")
        names = [field.get("name") for field in columns.iter("field")
                 if field.get("column_invisible") != "1"]
        hidden = {field.get("name") for field in columns.iter("field")
                  if field.get("optional") == "hide"}
        decisions = [names.index(name) for name in ("release", "hold_note", "sequence_type")]
        for detail in ("mandate_id", "mandate_state", "storno_score"):
            self.assertTrue(detail in hidden or names.index(detail) > max(decisions), detail)
        self.assertLess(max(decisions), 8)

    # ------------------------------------------------------------------
    # 11. bad files in the user's terms
    # ------------------------------------------------------------------

    def test_empty_file_says_it_is_empty(self):
        for data in (b"", b"  \n\t"):
            wizard = self.wizard(data, filename="camt054-leeg.xml")
            with self.assertRaisesRegex(UserError,
                                        r"^camt054-leeg\.xml: the file is empty\."):
                wizard.action_preview()
            self.assertEqual(wizard.state, "upload")
        # through the form, as the browser sends it
        form = Form(self.env["sepa.return.import"].with_context(
            default_filename="camt054-leeg.xml"))  # the file widget sets the name
        form.data_file = base64.b64encode(b"")
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "the file is empty"):
            wizard.action_preview()

    def test_truncated_file_says_it_is_not_complete(self):
        data = self.returns_file()
        stornos = self.env["sepa.storno"].search_count([])
        for cut in (0.3, 0.6, 0.95):
            wizard = self.wizard(data[:int(len(data) * cut)])
            with self.assertRaisesRegex(
                    UserError, r"camt054-2030-02-05\.xml: the file is not complete \(it ends "
                               r"before the message does\)"):
                wizard.action_preview()
            with self.assertRaisesRegex(UserError, "the file is not complete"):
                wizard.action_apply()
        self.assertEqual(self.env["sepa.storno"].search_count([]), stornos)
        # a broken (not cut off) file is not called incomplete
        wizard = self.wizard(data.replace(b"</Ntry>", b"</Oops>", 1))
        with self.assertRaisesRegex(UserError, "cannot be read as a return file"):
            wizard.action_preview()

    def test_same_file_twice_opens_on_already_registered_with_close(self):
        self.batch._settle()
        data = self.returns_file()
        first = self.preview(data)
        form = arch_of(first)
        buttons = {(b.get("string"), b.get("class")): b for b in form.iter("button")}
        register = buttons["Register Failed Debits", "btn-primary"]
        close_primary = buttons["Close", "btn-primary"]
        close = buttons["Close", "btn-secondary"]
        pages = {page.get("name"): page for page in form.iter("page")}
        self.assertFalse(evaluate(register.get("invisible"), first))
        self.assertTrue(evaluate(close_primary.get("invisible"), first))
        self.assertFalse(evaluate(close.get("invisible"), first))
        self.assertFalse(evaluate(pages["match"].get("invisible"), first))
        first.action_apply()

        again = self.preview(data)
        self.assertTrue(again.previous_import)
        # the primary button is Close, Register is gone
        self.assertTrue(evaluate(register.get("invisible"), again))
        self.assertFalse(evaluate(close_primary.get("invisible"), again))
        self.assertTrue(evaluate(close.get("invisible"), again))
        # the first tab shown (the one the dialog opens on) is "Already Registered"
        visible = [page.get("name") for page in form.iter("page")
                   if not evaluate(page.get("invisible"), again)]
        self.assertEqual(visible[0], "registered")
        self.assertEqual(pages["registered"].get("string"), "Already Registered")

    # ------------------------------------------------------------------
    # 13. small things
    # ------------------------------------------------------------------

    def test_proposal_amounts_have_their_currency(self):
        self.invoice(self.recurring_partner, 12.5)
        proposal = self.propose()
        for fname in ("line_ids", "excluded_line_ids"):
            columns = arch_of(proposal).find(f".//field[@name='{fname}']/list")
            self.assertIsNotNone(columns.find("field[@name='currency_id']"))
        field = proposal.line_ids._fields["amount"]
        self.assertEqual((field.type, field.get_currency_field(proposal.line_ids)),
                         ("monetary", "currency_id"))
        self.assertEqual(proposal.line_ids.currency_id, self.env.ref("base.EUR"))

    def test_fee_line_label_has_no_leading_colon(self):
        product = self.env["product.product"].create({
            "name": "Stornokosten", "type": "service", "lst_price": 4.0,
            "taxes_id": [fields.Command.clear()]})
        self.company.write({"sepa_storno_fee_invoice": True,
                            "sepa_storno_fee_product_id": product.id})
        self.batch._settle()
        self.preview(self.returns_file(charges=2.5)).action_apply()
        line = self.env["account.move.line"].search([
            ("sepa_fee_storno_id.batch_line_id", "=", self.recurring.id)])
        self.assertTrue(line.name.startswith("Stornokosten\nDirect debit "), line.name)
        # what the invoice form shows below the product (Odoo's product label widget
        # removes the product's name and the line break)
        shown = line.name.replace(product.display_name, "", 1).replace("\n", "", 1)
        self.assertTrue(shown.startswith("Direct debit "), shown)
        self.assertFalse(shown.lstrip().startswith(":"))

    def test_imported_file_shows_the_file_name(self):
        self.batch._settle()
        stornos = self.env["sepa.storno"].search(
            self.preview(self.returns_file()).action_apply()["domain"])
        self.assertEqual(set(stornos.mapped("import_filename")), {"camt054-2030-02-05.xml"})
        self.assertTrue(stornos[0].import_ref.startswith("sha256:"))
        form = etree.fromstring(self.env.ref("sepa_direct_debit.view_sepa_storno_form").arch)
        self.assertEqual(stornos._fields["import_filename"].string, "Imported File")
        self.assertIsNotNone(form.find(".//field[@name='import_filename']"))
        # the fingerprint only in debug mode
        self.assertEqual(form.find(".//field[@name='import_ref']").get("groups"),
                         "base.group_no_one")

    def test_mandate_list_has_the_storno_score(self):
        columns = arch_of(self.Mandate, "list")
        self.assertIsNotNone(columns.find("field[@name='storno_score']"))

    def test_words_that_must_differ_in_dutch(self):
        """'Hold' the button (Vasthouden) and the held state (Vastgehouden) are two
        terms; closing a mandate is not closing a dialog."""
        states = dict(self.env["sepa.storno"]._fields["release_state"]._description_selection(
            self.env))
        self.assertEqual(states["hold"], "Held")
        storno_form = arch_of(self.env["sepa.storno"])
        self.assertEqual(
            storno_form.find(".//header/button[@name='action_hold']").get("string"), "Hold")
        mandate_form = arch_of(self.Mandate)
        self.assertEqual(
            mandate_form.find(".//button[@name='action_close']").get("string"),
            "Close Mandate")
        self.assertEqual(self.env["sepa.storno"]._fields["hold_note"].string, "Hold Note")

    # ------------------------------------------------------------------
    # 13. notes in the reader's language
    # ------------------------------------------------------------------

    def shown_body(self, message, lang):
        store = Store()
        message.with_context(lang=lang)._to_store(store)
        return html.unescape(store.get_result()["mail.message"][0]["body"])

    def test_notes_are_shown_in_the_readers_language(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        mandate = self.create_active_mandate(signature_date="2019-03-01")
        self.env.user.lang = "en_US"
        mandate._expire()  # written by an English user
        note = mandate.message_ids.filtered(lambda message: message.sepa_i18n)
        self.assertEqual(len(note), 1)
        self.assertIn("Mandate expired: no debit since 03/01/2019", note.body)
        dutch = self.shown_body(note, "nl_NL")
        self.assertIn("Machtiging verlopen: geen incasso sinds 01-03-2019", dutch)
        self.assertIn("Mandate expired: no debit since 03/01/2019",
                      self.shown_body(note, "en_US"))
        # the control's summary on the batch, too
        self.batch._settle()
        self.preview(self.returns_file()).action_apply()
        control = self.env["sepa.control"].browse(self.batch.action_open_control()["res_id"])
        control.action_process()
        summary = self.batch.message_ids.filtered(
            lambda message: "Control after reconciliation" in (message.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn("Controle na afletteren: 2 mislukte incasso('s) vrijgegeven",
                      self.shown_body(summary, "nl_NL"))
        # the return import's note: its parts are kept, whatever the language
        note = self.batch.message_ids.filtered(
            lambda message: "registered from" in (message.body or ""))
        self.assertEqual(note.sepa_i18n, [
            ["returns_registered", {"count": 2, "file": "camt054-2030-02-05.xml"}]])
        self.assertIn("2 mislukte incasso's geregistreerd uit camt054-2030-02-05.xml.",
                      self.shown_body(note, "nl_NL"))
        self.assertIn("2 failed debits registered from camt054-2030-02-05.xml.",
                      self.shown_body(note, "en_US"))

    # ------------------------------------------------------------------
    # 14. the reminder to deliver the file
    # ------------------------------------------------------------------

    def reminders(self, batch):
        todo = self.env.ref("mail.mail_activity_data_todo")
        return self.env["mail.activity"].search([
            ("res_model", "=", "sepa.batch"), ("res_id", "=", batch.id),
            ("activity_type_id", "=", todo.id)])

    def test_reminder_for_the_responsible_on_the_delivery_date(self):
        user = new_test_user(self.env, "dd_bookkeeper", groups=(
            "account.group_account_invoice,sepa_direct_debit.group_sepa_user"),
            company_id=self.company.id, company_ids=[self.company.id])
        invoice = self.invoice(self.recurring_partner, 19.0)
        batch = self.create_batch(invoice_ids=[invoice.id])
        self.assertEqual(batch.user_id, self.env.user)  # who made it
        reminder = self.reminders(batch)
        self.assertEqual(len(reminder), 1)
        self.assertRecordValues(reminder, [{
            "user_id": self.env.user.id, "date_deadline": batch.latest_delivery_date,
            "automated": True}])
        self.assertIn(batch.name, reminder.summary)
        # another responsible: the reminder goes to them
        batch.user_id = user
        self.assertRecordValues(self.reminders(batch), [{"user_id": user.id}])
        # generated: still to deliver; sent: done
        batch.action_generate()
        self.assertEqual(len(self.reminders(batch)), 1)
        todo = self.env.ref("mail.mail_activity_data_todo")
        batch.action_send()
        self.assertFalse(self.reminders(batch))
        done = batch.message_ids.filtered(lambda m: m.mail_activity_type_id == todo)
        self.assertEqual(len(done), 1)

    def test_reminder_removed_when_the_batch_is_cancelled(self):
        batch = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 9.0).id])
        self.assertEqual(len(self.reminders(batch)), 1)
        batch.action_cancel()
        self.assertFalse(self.reminders(batch))
        todo = self.env.ref("mail.mail_activity_data_todo")
        self.assertFalse(batch.message_ids.filtered(lambda m: m.mail_activity_type_id == todo))

    def test_reminder_of_a_late_batch_is_overdue(self):
        invoice = self.invoice(self.recurring_partner, 11.0)
        batch = self.create_batch(invoice_ids=[invoice.id])
        today = fields.Date.context_today(self.env.user)
        batch.line_ids.write({"collection_date": today + timedelta(days=1)})
        batch._sync_delivery_reminders()
        reminder = self.reminders(batch)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.date_deadline, batch.latest_delivery_date)
        self.assertLess(reminder.date_deadline, today)
        self.assertEqual(reminder.state, "overdue")
