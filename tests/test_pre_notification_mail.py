"""The pre-notification e-mail per debit, as it arrives at the SMTP server
(tools/smtp_sink.py, started by make test): sent when the batch is created by a company
that notifies by e-mail."""

import socket
from datetime import timedelta
from unittest.mock import patch

import odoo
from odoo import fields
from odoo.tests import tagged

from ..sepa.notice import earliest_collection_after_notice
from .common import IBAN_C, SepaBatchCommon, SmtpCaseMixin

DUTCH_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli",
                "augustus", "september", "oktober", "november", "december")
#: The template's Dutch (i18n/nl.po), used here until nl.po has it.
DUTCH_SUBJECT = ("{{ object.name }}: vooraankondiging incasso van "
                 "{{ ctx.get('sepa_amount') or '' }} op {{ ctx.get('sepa_date') or '' }}")
DUTCH_BODY = (
    "<div style=\"margin: 0px; padding: 0px; font-size: 13px;\">\n"
    "    <p>Beste <t t-out=\"ctx.get('sepa_customer') or ''\">Jan de Vries</t>,</p>\n"
    "    <p>Op of na <strong t-out=\"ctx.get('sepa_date') or ''\">1 april"
    " 2025</strong> schrijven wij <strong t-out=\"ctx.get('sepa_amount') or"
    " ''\">150,25 €</strong> met een SEPA-incasso af van uw rekening <t"
    " t-out=\"ctx.get('sepa_account') or ''\">NL** **** **** **4300</t>, voor:</p>\n"
    "    <t t-out=\"ctx.get('sepa_links') or ''\"/>\n"
    "    <p>Kenmerk machtiging: <t t-out=\"ctx.get('sepa_mandate') or"
    " ''\">MDT-0001</t><br/>Incassant-ID: <t t-out=\"ctx.get('sepa_creditor') or"
    " ''\">NL69ZZZ123456780000</t></p>\n"
    "    <p>Zorgt u ervoor dat er op die datum voldoende saldo op uw rekening staat;"
    " verder hoeft u niets te doen. Klopt dit niet, neem dan vóór die datum contact"
    " met ons op.</p>\n"
    "    <p>Met vriendelijke groet,<br/><t t-out=\"object.name or"
    " ''\">YourCompany</t></p>\n"
    "</div>\n"
)


def one_line(text):
    return " ".join(str(text).split())


@tagged("post_install", "-at_install")
class TestPreNotificationMail(SmtpCaseMixin, SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("nl_NL")
        cls.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        cls.template = cls.env.ref("sepa_direct_debit.mail_template_sepa_prenote")
        if cls.template.with_context(lang="nl_NL").subject == cls.template.subject:
            cls.template.update_field_translations("subject", {"nl_NL": DUTCH_SUBJECT})
            cls.template.update_field_translations("body_html", {"nl_NL": DUTCH_BODY})
        cls.company.write({"email": "ledenadministratie@eendracht-club.example",
                           "sepa_notice_method": "email"})
        cls.debtor.write({"lang": "nl_NL", "email": "penningmeester@eendracht.example"})
        cls.recurring_partner.write({"lang": "en_US", "email": "jan@devries.example"})
        cls.make_cycle_invoices()

    def mails_of(self, invoices):
        return self.env["mail.mail"].sudo().search([
            ("model", "=", "account.move"), ("res_id", "in", invoices.ids)])

    def portal_link(self, invoice):
        self.assertTrue(invoice.access_token)
        return (f"{invoice.get_base_url()}/my/invoices/{invoice.id}"
                f"?access_token={invoice.access_token}")

    def test_dutch_and_english_customers_each_get_their_notice(self):
        batch = self.create_batch()
        lines = batch.line_ids
        mails = self.mails_of(lines.invoice_id)
        # one per debit: the two merged invoices of the first debit together
        self.assertEqual(len(mails), 2)
        self.assertEqual(set(lines.mapped("notice_state")), {"queued"})
        self.assertEqual(batch.notice_queued_count, 2)
        today = fields.Date.context_today(batch)

        arrived = self.send_mail_queue(mails)
        by_recipient = {message["X-Envelope-To"]: message for message in arrived}
        self.assertEqual(set(by_recipient), {"penningmeester@eendracht.example",
                                             "jan@devries.example"})
        first = lines.filtered(lambda line: line.mandate_id == self.mandate_first)
        recurring = lines - first

        dutch = by_recipient["penningmeester@eendracht.example"]
        self.assertIn("Vereniging De Eendracht", dutch["To"])
        day = first[0].collection_date
        dutch_date = f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"
        self.assertEqual(one_line(dutch["Subject"]),
                         f"{self.company.name}: vooraankondiging incasso van 150,25 € op "
                         f"{dutch_date}")
        text = self.message_text(dutch)
        self.assertIn("Beste Vereniging De Eendracht,", text)
        self.assertIn(f"Op of na *{dutch_date}* schrijven wij *150,25 €* met een "
                      "SEPA-incasso af van uw rekening NL** **** **** **4567, voor:", text)
        self.assertIn("Kenmerk machtiging: MDT-FIRST", text)
        self.assertIn("Incassant-ID: NL69ZZZ123456780000", text)
        body = dutch.get_body(("html",)).get_content()
        self.assertIn(self.portal_link(self.inv_first_1), body)
        self.assertIn(self.portal_link(self.inv_first_2), body)
        self.assertIn(self.inv_first_1.name, text)
        self.assertIn(self.inv_first_2.name, text)

        english = by_recipient["jan@devries.example"]
        self.assertIn("Jan de Vries", english["To"])
        day = recurring.collection_date
        english_date = day.strftime("%B ") + f"{day.day}, {day.year}"
        self.assertEqual(one_line(english["Subject"]),
                         f"{self.company.name}: direct debit of 30.00 € on {english_date}")
        text = self.message_text(english)
        self.assertIn("Dear Jan de Vries,", text)
        self.assertIn(f"On or after *{english_date}* we will debit *30.00 €* from your "
                      "account NL** **** **** **4300 by SEPA direct debit, for:", text)
        self.assertIn("Mandate reference: MDT-RCUR", text)
        self.assertIn("Creditor identifier: NL69ZZZ123456780000", text)
        self.assertNotIn(self.inv_first_1.name, text)
        self.assertIn(self.portal_link(self.inv_recurring),
                      english.get_body(("html",)).get_content())

        # sent: each debit's lines are notified today, and so are their invoices
        self.assertEqual(set(lines.mapped("notice_state")), {"sent"})
        self.assertEqual(set(lines.mapped("notified_date")), {today})
        self.assertEqual(set(lines.invoice_id.mapped("sepa_notified_date")), {today})
        self.assertEqual((batch.notice_sent_count, batch.notice_queued_count,
                          batch.notice_failed_count, batch.notice_no_email_count), (2, 0, 0, 0))
        self.assertFalse(batch.notice_missing_count)
        # the invoice keeps what was sent in its chatter
        trace = self.inv_recurring.message_ids.filtered(
            lambda message: message.message_type == "email_outgoing")
        self.assertEqual(one_line(trace.subject), one_line(english["Subject"]))

    def test_customer_without_email_is_counted_and_listed(self):
        partner, _mandate = self.create_debtor("Piet Zonder Mail", IBAN_C, name="MDT-NOMAIL")
        invoice = self.invoice(partner, 12.5)
        batch = self.create_batch()
        self.assertFalse(self.mails_of(invoice))
        line = batch.line_ids.filtered(lambda line: line.invoice_id == invoice)
        self.assertEqual(line.notice_state, "no_email")
        self.assertEqual((batch.notice_queued_count, batch.notice_no_email_count,
                          batch.notice_missing_count), (2, 1, 1))
        action = batch.action_open_notice_lines()
        listed = self.env["sepa.batch.line"].search(
            action["domain"] + [("notice_state", "in", ("failed", "no_email"))])
        self.assertEqual(listed, line)
        self.assertEqual(action["context"]["search_default_notice_missing"], 1)
        arrived = self.send_mail_queue(self.mails_of(batch.line_ids.invoice_id))
        self.assertEqual(len(arrived), 2)
        self.assertFalse(line.notified_date)
        self.assertFalse(invoice.sepa_notified_date)

    def test_portal_tokens_only_for_the_invoices_linked_from_an_email(self):
        """Written with the invoices' status: a token already there is kept, an invoice
        whose customer has no e-mail address gets none."""
        partner, _mandate = self.create_debtor("Piet Zonder Mail", IBAN_C, name="MDT-NOMAIL")
        silent = self.invoice(partner, 12.5)
        self.inv_recurring.access_token = "kept-token"
        batch = self.create_batch()
        self.assertEqual(set(batch.line_ids.invoice_id.mapped("sepa_state")), {"in_batch"})
        self.assertEqual(self.inv_recurring.access_token, "kept-token")
        self.assertIn("access_token=kept-token", self.mails_of(self.inv_recurring).body_html)
        self.assertTrue(self.inv_first_1.access_token)
        self.assertIn(self.portal_link(self.inv_first_2),
                      self.mails_of(self.inv_first_1).body_html)
        self.assertFalse(silent.access_token)

    def test_refused_mail_is_counted_failed(self):
        batch = self.create_batch()
        mails = self.mails_of(self.inv_recurring)
        self.smtp_mail_server.smtp_port = self._free_port()
        with patch.object(odoo.modules.module, "current_test", False):
            mails.send(raise_exception=False)
        self.assertEqual(mails.state, "exception")
        line = batch.line_ids.filtered(lambda line: line.invoice_id == self.inv_recurring)
        self.assertEqual(line.notice_state, "failed")
        self.assertFalse(line.notified_date)
        self.assertEqual((batch.notice_failed_count, batch.notice_missing_count), (1, 1))
        action = batch.action_open_notice_lines()
        self.assertEqual(self.env["sepa.batch.line"].search(
            action["domain"] + [("notice_state", "=", "failed")]), line)

    def test_notice_on_the_invoice_only_sends_no_mail(self):
        self.company.sepa_notice_method = "invoice"
        batch = self.create_batch()
        self.assertFalse(self.mails_of(batch.line_ids.invoice_id))
        self.assertEqual(set(batch.line_ids.mapped("notice_state")), {False})
        self.assertFalse(batch.notice_missing_count)

    def test_proposal_counts_the_email_from_the_day_the_batch_is_made(self):
        """With the check on, a debit not notified yet is notified by its e-mail when the
        batch is created: collected no earlier than the notice period after today."""
        self.company.sepa_notice_check = True
        today = fields.Date.context_today(self.company)
        invoice = self.invoice(self.recurring_partner, 40.0, invoice_date=today,
                               invoice_date_due=today + timedelta(days=7))
        wizard = self.propose(invoice_ids=[(6, 0, invoice.ids)], collect_on_one_date=False)
        line = wizard.line_ids.filtered(lambda line: line.invoice_id == invoice)
        earliest = earliest_collection_after_notice(today, 14)
        self.assertRecordValues(line, [{"reason": False, "notice_late": True,
                                        "notice_earliest_date": earliest}])
        wizard.action_shift_notice_dates()
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(batch.line_ids.collection_date, earliest)
        self.assertEqual(batch.line_ids.notice_state, "queued")

    @staticmethod
    def _free_port():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
