"""The e-mail telling a customer that a direct debit failed, as it arrives at the SMTP
server (tools/smtp_sink.py, started by make test)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tools import format_date

from .common import SepaBatchCommon, SmtpCaseMixin

DATE = fields.Date.from_string("2025-03-25")


def one_line(text):
    return " ".join(str(text).split())


@tagged("post_install", "-at_install")
class TestStornoMail(SmtpCaseMixin, SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("nl_NL")
        cls.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        cls.company.email = "ledenadministratie@eendracht-club.example"
        cls.debtor.write({"lang": "nl_NL", "email": "penningmeester@eendracht.example"})
        cls.recurring_partner.write({"lang": "en_US", "email": "jan@devries.example"})
        cls.make_sent_cycle_batch()
        cls.Storno = cls.env["sepa.storno"]

    def register(self, *debits, code="AM04", env=None):
        return (env or self.env)["sepa.storno"].register([{
            "batch_line_id": debit[0].id, "reason_code": code, "kind": "return",
            "date": DATE, "source": "manual"} for debit in debits])

    def mails_of(self, stornos):
        return self.env["mail.mail"].sudo().search([
            ("model", "=", "account.move"), ("res_id", "in", stornos.invoice_ids.ids)])

    @staticmethod
    def to_customers(messages):
        return [message for message in messages if message["X-Envelope-To"] in (
            "penningmeester@eendracht.example", "jan@devries.example")]

    def portal_link(self, invoice):
        self.assertTrue(invoice.access_token)
        return (f"{invoice.get_base_url()}/my/invoices/{invoice.id}"
                f"?access_token={invoice.access_token}")

    def test_dutch_and_english_customers_each_get_their_message(self):
        stornos = self.register(self.first, self.recurring)
        mails = self.mails_of(stornos)
        self.assertEqual(len(mails), 2)  # one per failed debit: the merged invoices together
        arrived = self.send_mail_queue(mails)
        by_recipient = {message["X-Envelope-To"]: message for message in arrived}
        self.assertEqual(set(by_recipient), {"penningmeester@eendracht.example",
                                             "jan@devries.example"})

        dutch = by_recipient["penningmeester@eendracht.example"]
        self.assertIn("Vereniging De Eendracht", dutch["To"])
        text = self.message_text(dutch)
        self.assertIn("150,25 €", text)  # in the customer's language's format
        self.assertIn(f"{self.inv_first_1.name}, {self.inv_first_2.name}", text)
        self.assertIn("25-03-2025", text)
        body = dutch.get_body(("html",)).get_content()
        self.assertIn(self.portal_link(self.inv_first_1), body)
        self.assertIn(self.portal_link(self.inv_first_2), body)

        english = by_recipient["jan@devries.example"]
        self.assertIn("Jan de Vries", english["To"])
        self.assertEqual(one_line(english["Subject"]),
                         f"{self.company.name}: the direct debit of 30.00 € failed")
        text = self.message_text(english)
        self.assertIn("Dear Jan de Vries,", text)
        self.assertIn(f"We could not collect the payment of *30.00 €* for "
                      f"{self.inv_recurring.name} from your account by direct debit on "
                      "03/25/2025.", text)
        self.assertIn("The reason your bank gave: There was not enough balance on your "
                      "account.", text)
        self.assertIn("Please pay this amount yourself:", text)
        self.assertIn(self.portal_link(self.inv_recurring),
                      english.get_body(("html",)).get_content())
        # the invoice keeps what was sent in its chatter
        trace = self.inv_recurring.message_ids.filtered(
            lambda message: message.message_type == "email_outgoing")
        self.assertEqual(one_line(trace.subject), one_line(english["Subject"]))

    def test_closed_account_asks_for_a_new_account_or_mandate(self):
        stornos = self.register(self.recurring, code="AC04")
        [message] = self.send_mail_queue(self.mails_of(stornos))
        text = self.message_text(message)
        self.assertIn("The reason your bank gave: Your account is closed.", text)
        self.assertIn("Please send us the details of your new bank account (IBAN) or sign "
                      "a new direct debit mandate", text)

    def test_planned_collection_date_is_named(self):
        """A failed debit the company's policy re-presents after payday names the
        planned date instead of asking to pay; the date leaves the customer's
        pre-notification period (counted from the e-mail) before it."""
        self.company.write({"sepa_represent_auto": True, "sepa_notice_days": 14})
        stornos = self.register(self.recurring)
        planned = stornos.represent_date
        self.assertTrue(planned)
        self.assertEqual(stornos.release_state, "retry")
        self.assertGreaterEqual(planned, fields.Date.context_today(stornos)
                                + timedelta(days=14))
        [message] = self.send_mail_queue(self.mails_of(stornos))
        text = self.message_text(message)
        self.assertIn("We will collect the amount again on or after "
                      f"*{format_date(self.env, planned)}*", text)
        self.assertNotIn("Please pay this amount yourself", text)

    def test_billing_user_registers_and_the_customer_is_told(self):
        """A bookkeeper who is no template editor nor administrator registers: the
        e-mail is queued all the same (made by the system, not by the user's rights)."""
        user = new_test_user(self.env, login="sepa_mail_billing",
                             groups="account.group_account_invoice",
                             company_id=self.company.id)
        self.assertFalse(user.has_group("base.group_system"))
        stornos = self.register(self.recurring, env=self.env(user=user))
        [message] = self.send_mail_queue(self.mails_of(stornos))
        self.assertEqual(message["X-Envelope-To"], "jan@devries.example")

    def test_creditor_reason_or_no_address_sends_nothing(self):
        # MD02 (missing mandate information) is the creditor's failure, not the customer's
        self.assertEqual(self.env.ref("sepa_direct_debit.return_reason_md02").fault,
                         "creditor")
        self.recurring_partner.email = False
        stornos = self.register(self.first, code="MD02") | self.register(self.recurring)
        self.assertFalse(self.mails_of(stornos))
        self.assertFalse(self.to_customers(self.send_mail_queue()))

    def test_setting_off_sends_nothing(self):
        self.company.sepa_storno_mail = False
        stornos = self.register(self.first, self.recurring)
        self.assertFalse(self.mails_of(stornos))
        self.assertFalse(self.to_customers(self.send_mail_queue()))

    def test_dutch_customer_reads_dutch(self):
        """The shipped Dutch (i18n/nl.po, from the template's and reasons' terms)."""
        [dutch] = self.send_mail_queue(self.mails_of(self.register(self.first)))
        self.assertEqual(one_line(dutch["Subject"]),
                         f"{self.company.name}: de incasso van 150,25 € is niet gelukt")
        text = self.message_text(dutch)
        self.assertIn("Beste Vereniging De Eendracht,", text)
        self.assertIn("De reden die uw bank opgaf: Er was onvoldoende saldo op uw rekening.",
                      text)
        self.assertIn("Wilt u dit bedrag zelf betalen:", text)
