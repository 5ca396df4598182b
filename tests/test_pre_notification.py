"""Pre-notification (vooraankondiging): the notice on the invoice, the date it reached
the customer, and the proposal's check of the notice period."""

from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import format_date, html2plaintext
from odoo.tools.translate import code_translations

from ..sepa.calendar import earliest_collection_date
from ..sepa.notice import earliest_collection_after_notice
from .common import CREDITOR_ID, IBAN_C, SepaBatchCommon

MASKED_B = "NL** **** **** **4300"  # IBAN_B, the recurring customer's
NOTICE = ("The amount of %(amount)s will be debited from your account %(account)s on or "
          "after %(date)s (mandate %(mandate)s, creditor identifier %(creditor)s).")
#: Its Dutch (i18n/nl.po), used here until nl.po has it
NOTICE_NL = ("Het bedrag van %(amount)s wordt op of na %(date)s afgeschreven van uw "
             "rekening %(account)s (machtiging %(mandate)s, incassant-ID %(creditor)s).")


@tagged("post_install", "-at_install")
class TestPreNotification(SepaBatchCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        cls.recurring_partner.email = "jan@example.com"
        # no e-invoice: the test invoices have no taxes, which NLCIUS refuses
        cls.recurring_partner.invoice_edi_format = False

    def notice_invoice(self, partner=None, amount=125.0, invoice_date=date(2027, 3, 1),
                       due=date(2027, 3, 26)):
        return self.invoice(partner or self.recurring_partner, amount,
                            invoice_date=invoice_date, invoice_date_due=due)

    def html_text(self, invoice):
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "account.report_invoice", invoice.ids)
        return " ".join(html2plaintext(html.decode()).split())

    # ------------------------------------------------------------------
    # settings
    # ------------------------------------------------------------------

    def test_settings_defaults(self):
        self.assertRecordValues(self.company, [{
            "sepa_notice_days": 14, "sepa_notice_method": "invoice",
            "sepa_notice_check": False}])
        self.assertEqual(self.recurring_partner.sepa_notice_days, 0)
        with self.assertRaises(ValidationError):
            self.company.sepa_notice_days = -1
        with self.assertRaises(ValidationError):
            self.recurring_partner.sepa_notice_days = -2
        # switched on: the invoices from that day are checked
        self.company.sepa_notice_check = True
        self.assertEqual(self.company.sepa_notice_check_from, self.today)
        # a contact takes its company's agreed period
        contact = self.env["res.partner"].create({
            "name": "Piet", "parent_id": self.recurring_partner.id})
        self.recurring_partner.sepa_notice_days = 5
        self.assertEqual(contact.sepa_notice_days, 5)

    def test_screens_show_the_notice_fields(self):
        def arch(model):
            return self.env[model].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="sepa_notice_days"', arch("res.partner"))
        self.assertIn('name="sepa_notified_date"', arch("account.move"))
        proposal = arch("sepa.batch.proposal")
        for name in ("action_shift_notice_dates", "action_leave_out_notice_late",
                     "notice_late_count", "notified_date", "notice_earliest_date"):
            self.assertIn(f'name="{name}"', proposal)

    # ------------------------------------------------------------------
    # the notice on the invoice
    # ------------------------------------------------------------------

    def test_notice_in_the_invoice_pdf_english(self):
        invoice = self.notice_invoice()
        # due on Good Friday 26 March 2027: collected on Tuesday 30 March (Easter Monday)
        self.assertEqual(invoice.sepa_notice_date, date(2027, 3, 30))
        self.assertEqual(invoice.sepa_notice_iban, MASKED_B)
        text = self.html_text(invoice)
        self.assertIn(
            f"The amount of 125.00 € will be debited from your account {MASKED_B} on or "
            f"after March 30, 2027 (mandate MDT-RCUR, creditor identifier {CREDITOR_ID}).",
            text)

    def test_notice_in_the_invoice_pdf_dutch(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.recurring_partner.lang = "nl_NL"
        invoice = self.notice_invoice()
        key = ("sepa_direct_debit", "nl_NL")
        dutch = dict(code_translations.get_python_translations(*key))
        dutch.setdefault(NOTICE, NOTICE_NL)
        with patch.dict(code_translations.python_translations, {key: dutch}):
            text = self.html_text(invoice)
        self.assertIn(
            f"Het bedrag van 125,00 € wordt op of na 30 maart 2027 afgeschreven van uw "
            f"rekening {MASKED_B} (machtiging MDT-RCUR, incassant-ID {CREDITOR_ID}).", text)
        self.assertNotIn("March", text)

    def test_no_payment_request_on_an_invoice_collected_by_direct_debit(self):
        """Odoo asks the customer to pay "on this account" with a payment communication
        (and a QR code to pay): on an invoice the addon debits, that invites a second
        payment. It says so only where the customer pays himself."""
        invoice = self.notice_invoice()
        self.assertEqual(invoice.sepa_state, "to_collect")
        self.assertNotIn("Payment Communication", self.html_text(invoice))
        other = self.env["res.partner"].create({"name": "Pays by transfer"})
        transfer = self.invoice(other, 40.0)
        self.assertEqual(transfer.sepa_state, "none")
        self.assertIn("Payment Communication", self.html_text(transfer))

    def test_notice_not_before_the_notice_period(self):
        # due 5 days after the invoice date: announced 14 days after it
        invoice = self.notice_invoice(due=date(2027, 3, 6))
        self.assertEqual(invoice.sepa_notice_date, date(2027, 3, 15))

    def test_notice_on_the_company_collection_day(self):
        """With a collection day of the month, the notice announces that day on or after
        the due date (the month after when it has passed), on a TARGET2 business day."""
        self.company.sepa_collection_day = 20
        invoice = self.notice_invoice(invoice_date=date(2027, 4, 1), due=date(2027, 4, 6))
        self.assertEqual(invoice.sepa_notice_date, date(2027, 4, 20))
        # due after the 20th: next month's, Sunday 20 June 2027 → Monday 21 June
        invoice = self.notice_invoice(invoice_date=date(2027, 5, 1), due=date(2027, 5, 21))
        self.assertEqual(invoice.sepa_notice_date, date(2027, 6, 21))

    def test_no_notice_without_active_mandate_or_by_email(self):
        partner, _mandate = self.create_debtor("Klaas", IBAN_C, state="draft")
        without = self.notice_invoice(partner=partner)
        with_notice = self.notice_invoice()
        self.assertFalse(without.sepa_notice_text)
        self.assertNotIn("debited", self.html_text(without))
        self.assertTrue(with_notice.sepa_notice_text)
        self.company.sepa_notice_method = "email"
        with_notice.invalidate_recordset(["sepa_notice_text"])
        self.assertFalse(with_notice.sepa_notice_text)
        self.assertNotIn("debited", self.html_text(with_notice))
        self.company.sepa_notice_method = "both"
        with_notice.invalidate_recordset(["sepa_notice_text"])
        self.assertIn("debited", self.html_text(with_notice))

    def test_notice_of_many_invoices_in_one_query(self):
        invoices = self.invoices(self.recurring_partner, [10.0] * 20,
                                 invoice_date=date(2027, 3, 1))
        invoices.invalidate_recordset()
        with self.assertQueryCount(3):
            texts = invoices.mapped("sepa_notice_text")
        self.assertTrue(all(texts))

    # ------------------------------------------------------------------
    # the invoice e-mail
    # ------------------------------------------------------------------

    def test_sending_the_invoice_email_records_the_notice(self):
        invoice = self.notice_invoice()
        self.assertFalse(invoice.sepa_notified_date)
        wizard = self.env["account.move.send.wizard"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({
                "sending_methods": ["email"]})
        self.assertIn(MASKED_B, wizard.mail_body)
        wizard.action_send_and_print()
        self.assertEqual(invoice.sepa_notified_date, self.today)
        message = invoice.message_ids.filtered(lambda m: m.message_type == "comment")[:1]
        self.assertIn('<p name="sepa_notice">The amount of', message.body)  # not escaped
        body = html2plaintext(message.body)
        self.assertIn(MASKED_B, body)
        self.assertIn("MDT-RCUR", body)
        self.assertIn(CREDITOR_ID, body)

    def test_mass_sending_records_the_notice(self):
        partner, _mandate = self.create_debtor("Klaas", IBAN_C)
        invoices = self.notice_invoice() | self.notice_invoice(amount=12.0)
        no_email = self.notice_invoice(partner=partner)  # not sent: no address
        no_mandate = self.invoice(self.env["res.partner"].create({
            "name": "Cash", "email": "cash@example.com"}), 5.0)
        self.env["account.move.send"]._generate_and_send_invoices(
            invoices | no_email | no_mandate, sending_methods=["email"],
            invoice_edi_format=False)
        self.assertEqual(invoices.mapped("sepa_notified_date"), [self.today] * 2)
        self.assertFalse(no_email.sepa_notified_date)
        self.assertFalse(no_mandate.sepa_notified_date)  # it carried no notice

    # ------------------------------------------------------------------
    # the proposal's check
    # ------------------------------------------------------------------

    def checked_invoice(self, due_in, notified_ago=None, partner=None):
        self.company.sepa_notice_check = True
        invoice = self.invoice(partner or self.recurring_partner, 40.0,
                               invoice_date=self.today,
                               invoice_date_due=self.today + timedelta(days=due_in))
        if notified_ago is not None:
            invoice.sepa_notified_date = self.today - timedelta(days=notified_ago)
        return invoice

    def proposal_line(self, invoice, **values):
        values.setdefault("collect_on_one_date", False)  # each on its due date
        wizard = self.propose(invoice_ids=[(6, 0, invoice.ids)], **values)
        return wizard, (wizard.line_ids | wizard.excluded_line_ids).filtered(
            lambda line: line.invoice_id == invoice)

    def test_late_notice_shifted(self):
        invoice = self.checked_invoice(due_in=7, notified_ago=0)
        wizard, line = self.proposal_line(invoice)
        earliest = earliest_collection_after_notice(self.today, 14)
        self.assertRecordValues(line, [{
            "reason": False, "selected": True, "notified_date": self.today,
            "notice_earliest_date": earliest, "notice_late": True,
            "collection_date": self.today + timedelta(days=7)}])
        self.assertEqual(wizard.notice_late_count, 1)
        with self.assertRaisesRegex(UserError, "pre-notified"):
            wizard.action_create_batch()
        wizard.action_shift_notice_dates()
        self.assertRecordValues(line, [{"collection_date": earliest, "notice_late": False}])
        self.assertEqual(wizard.notice_late_count, 0)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(batch.line_ids.collection_date, earliest)

    def test_run_date_before_the_notice_allows_is_late(self):
        """Collecting all on one date: the notice is checked against that date, also
        when the date is changed afterwards."""
        invoice = self.checked_invoice(due_in=30, notified_ago=0)
        earliest = earliest_collection_after_notice(self.today, 14)
        wizard, line = self.proposal_line(invoice, collect_on_one_date=True)
        self.assertLess(wizard.one_collection_date, earliest)
        self.assertRecordValues(line, [{"collection_date": wizard.one_collection_date,
                                        "notice_late": True}])
        wizard.one_collection_date = earliest
        self.assertRecordValues(line, [{"collection_date": earliest, "notice_late": False}])
        self.assertEqual(wizard.notice_late_count, 0)

    def test_late_notice_left_out_with_the_reason(self):
        notified = self.today - timedelta(days=2)
        invoice = self.checked_invoice(due_in=7, notified_ago=2)
        wizard, line = self.proposal_line(invoice)
        wizard.action_leave_out_notice_late()
        earliest = earliest_collection_after_notice(notified, 14)
        self.assertRecordValues(line, [{"selected": False, "reason": (
            f"Pre-notified on {format_date(self.env, notified)}, earliest collection "
            f"{format_date(self.env, earliest)}")}])
        self.assertIn(line, wizard.excluded_line_ids)

    def test_agreed_shorter_period(self):
        self.recurring_partner.sepa_notice_days = 3
        invoice = self.checked_invoice(due_in=12, notified_ago=0)
        _wizard, line = self.proposal_line(invoice)
        self.assertRecordValues(line, [{
            "reason": False, "notice_late": False,
            "notice_earliest_date": earliest_collection_after_notice(self.today, 3),
            "collection_date": self.today + timedelta(days=12)}])

    def test_not_notified_left_out(self):
        invoice = self.checked_invoice(due_in=20)
        _wizard, line = self.proposal_line(invoice)
        self.assertFalse(line.selected)
        self.assertEqual(line.reason, "Not pre-notified: send the invoice first")

    def test_no_email_and_not_notified_listed(self):
        partner, _mandate = self.create_debtor("Klaas", IBAN_C)
        invoice = self.checked_invoice(due_in=20, partner=partner)
        _wizard, line = self.proposal_line(invoice)
        self.assertTrue(line.reason.startswith("Not pre-notified: the customer has no e-mail"))
        # with notices by e-mail per debit, still listed, never silently collected
        self.company.sepa_notice_method = "email"
        _wizard, line = self.proposal_line(invoice)
        self.assertTrue(line.reason.startswith("Not pre-notified: the customer has no e-mail"))
        # notified by post: entered on the invoice
        invoice.sepa_notified_date = self.today
        _wizard, line = self.proposal_line(invoice)
        self.assertFalse(line.reason)

    def test_email_method_leaves_the_notice_to_the_debit_email(self):
        self.company.sepa_notice_method = "email"
        invoice = self.checked_invoice(due_in=20)
        _wizard, line = self.proposal_line(invoice)
        self.assertRecordValues(line, [{"reason": False, "notice_late": False}])

    def test_invoices_before_the_switch_and_switch_off_not_checked(self):
        invoice = self.checked_invoice(due_in=20)
        self.company.sepa_notice_check_from = self.today + timedelta(days=1)
        _wizard, line = self.proposal_line(invoice)
        self.assertFalse(line.reason)
        self.company.sepa_notice_check_from = self.today
        self.company.sepa_notice_check = False
        _wizard, line = self.proposal_line(invoice)
        self.assertFalse(line.reason)

    def test_bank_earliest_date_counts_too(self):
        # notified long ago: only the bank's lead time matters
        invoice = self.checked_invoice(due_in=0, notified_ago=30)
        _wizard, line = self.proposal_line(invoice)
        self.assertRecordValues(line, [{
            "notice_late": False,
            "collection_date": earliest_collection_date(self.today, "CORE",
                                                        bank_cutoff_days=1)}])
