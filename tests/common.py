import base64
import email
import email.policy
import io
import os
import socket
from pathlib import Path
from unittest.mock import patch

import odoo
from odoo import Command, fields, http
from odoo.tests import HttpCase
from odoo.tools import SQL, html2plaintext
from odoo.tools.pdf import PdfFileReader

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

CREDITOR_ID = "NL69ZZZ123456780000"
IBAN_A = "NL20INGB0001234567"
IBAN_B = "NL91ABNA0417164300"
IBAN_C = "NL44RABO0123456789"
IBAN_D = "NL36INGB0007654321"
CREDITOR_IBAN = "NL47BUNQ2020202020"

#: Columns that differ between two otherwise identical records.
IDENTITY = {
    "id", "move_id", "create_uid", "create_date", "write_uid", "write_date", "name",
    "move_name", "ref", "sepa_batch_line_id", "full_reconcile_id", "matching_number",
    "sequence_number", "sequence_prefix", "access_token", "sepa_batch_id",
    "debit_move_id", "credit_move_id", "partner_id", "commercial_partner_id",
    "invoice_partner_display_name", "sepa_mandate_id", "payment_reference",
}


def table_rows(env, table, ids, ignore=()):
    """The rows ``ids`` of ``table`` by id, without the columns that differ between two
    otherwise identical records (``IDENTITY``) nor those of ``ignore``."""
    env.flush_all()
    rows = env.execute_query_dict(SQL(
        "SELECT * FROM %s WHERE id = ANY(%s) ORDER BY id", SQL.identifier(table), ids))
    return [{key: value for key, value in row.items()
             if key not in IDENTITY and key not in ignore} for row in rows]


class SepaCommon(AccountTestInvoicingCommon):
    """Euro company with a creditor identifier and a customer with a valid IBAN."""

    def render_pdf_text(self, report_ref, records):
        """Really print ``records`` (wkhtmltopdf) and return the PDF's text on one line."""
        report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        pdf, kind = report._render_qweb_pdf(report_ref, records.ids)
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        reader = PdfFileReader(io.BytesIO(pdf))
        return " ".join(" ".join(page.extract_text() for page in reader.pages).split())

    @classmethod
    def setup_independent_company(cls, **kwargs):
        kwargs.setdefault("currency_id", cls.env.ref("base.EUR").id)
        return super().setup_independent_company(**kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.sepa_creditor_identifier = CREDITOR_ID
        cls.debtor = cls.env["res.partner"].create({
            "name": "Vereniging De Eendracht",
            "is_company": True,
            "street": "Oudegracht 12",
            "zip": "3511 AB",
            "city": "Utrecht",
            "country_id": cls.env.ref("base.nl").id,
        })
        cls.debtor_bank = cls.env["res.partner.bank"].create({
            "acc_number": IBAN_A,
            "partner_id": cls.debtor.id,
        })
        cls.Mandate = cls.env["sepa.mandate"]

    @classmethod
    def create_mandate(cls, **values):
        return cls.Mandate.create({
            "partner_id": cls.debtor.id,
            "partner_bank_id": cls.debtor_bank.id,
            "signature_date": "2025-01-15",
            **values,
        })

    @classmethod
    def create_active_mandate(cls, **values):
        mandate = cls.create_mandate(**values)
        mandate.action_activate()
        return mandate


class SepaBatchCommon(SepaCommon):
    """A bank journal with an IBAN and customers in every direct debit situation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.bank_journal.bank_account_id = cls.env["res.partner.bank"].create({
            "acc_number": CREDITOR_IBAN,
            "partner_id": cls.company.partner_id.id,
        })
        cls.debtor.sepa_collect = True
        cls.mandate_first = cls.debtor.sepa_mandate_ids
        cls.mandate_first.write({"signature_date": "2025-01-15", "name": "MDT-FIRST"})
        cls.mandate_first.action_activate()
        cls.recurring_partner, cls.mandate_recurring = cls.create_debtor(
            "Jan de Vries", IBAN_B, sequence_type="recurring", name="MDT-RCUR")

    @classmethod
    def make_cycle_invoices(cls):
        """The three invoices most cycle tests collect: two of the first-debit customer
        (merged into one debit) and one of the recurring customer."""
        cls.inv_first_1 = cls.invoice(cls.debtor, 100.0)
        cls.inv_first_2 = cls.invoice(cls.debtor, 50.25)  # merged with the first: one debit
        cls.inv_recurring = cls.invoice(cls.recurring_partner, 30.0)

    @classmethod
    def make_sent_cycle_batch(cls):
        """The batch of the three cycle invoices, sent (``batch``), and its debits of the
        first-debit customer (``first``) and of the recurring one (``recurring``)."""
        cls.make_cycle_invoices()
        cls.batch = cls.create_batch()
        cls.batch.action_generate()
        cls.batch.action_send()
        lines = cls.batch.line_ids
        cls.first = lines.filtered(lambda line: line.mandate_id == cls.mandate_first)
        cls.recurring = lines.filtered(lambda line: line.mandate_id == cls.mandate_recurring)

    @classmethod
    def create_debtor(cls, partner_name, iban, state="active", **mandate_values):
        partner = cls.env["res.partner"].create({
            "name": partner_name, "country_id": cls.env.ref("base.nl").id, "city": "Utrecht"})
        bank = cls.env["res.partner.bank"].create({"acc_number": iban, "partner_id": partner.id})
        mandate = cls.Mandate.create({
            "partner_id": partner.id,
            "partner_bank_id": bank.id,
            "signature_date": "2025-01-15",
            **mandate_values,
        })
        if state != "draft":
            mandate.action_activate()
            if "sequence_type" in mandate_values:  # activation starts at FRST
                mandate.sequence_type = mandate_values["sequence_type"]
        partner.sepa_collect = True
        return partner, mandate

    @classmethod
    def invoice(cls, partner, amount, **kwargs):
        """A posted customer invoice of one line of ``amount`` without taxes, dated
        2019-01-01 by default: what ``init_invoice`` makes, without its form view
        (several times faster; hundreds of invoices in the tests)."""
        return cls.invoices(partner, [amount], **kwargs)

    @classmethod
    def invoices(cls, partner, amounts, company=None, currency=None, invoice_date=None,
                 move_type="out_invoice", **values):
        """One posted invoice per amount (as :meth:`invoice`), in one create; ``values``:
        more fields of the invoices (a payment term)."""
        vals = {
            "move_type": move_type,
            "partner_id": partner.id,
            "invoice_date": invoice_date or fields.Date.from_string("2019-01-01"),
            **values,
        }
        if currency:
            vals["currency_id"] = currency.id
        moves = cls.env["account.move"].with_company(company or cls.env.company).create([
            dict(vals, invoice_line_ids=[Command.create({
                "name": "test line", "price_unit": amount, "tax_ids": [Command.clear()]})])
            for amount in amounts])
        moves.action_post()
        return moves

    @classmethod
    def propose(cls, **values):
        wizard = cls.env["sepa.batch.proposal"].create({
            "journal_id": cls.bank_journal.id, **values})
        wizard.action_propose()
        return wizard

    @classmethod
    def create_batch(cls, **values):
        wizard = cls.propose(**values)
        action = wizard.action_create_batch()
        return cls.env["sepa.batch"].browse(action["res_id"])


class SepaTourCase(HttpCase):
    """Browser tests: Chromium in Odoo's HttpCase."""

    def start_tour(self, url_path, tour_name, **kwargs):
        # CPython 3.11's ast is not thread-safe (gh-106905, "AST constructor recursion
        # depth mismatch"): the HTTP application reads every addon's manifest on its first
        # static request, so read them now, before the browser's parallel first requests.
        http.root.statics  # noqa: B018
        return super().start_tour(url_path, tour_name, **kwargs)

    def setup_creditor(self, journal_name="Tour Direct Debit Bank", code="TDDB"):
        """A euro company with a creditor identifier and a bank journal with an IBAN,
        the only one with an account (the proposal proposes it)."""
        company = self.env.company
        eur = self.env.ref("base.EUR")
        eur.active = True
        # A euro company, as SEPA creditors are; a database with journal items already
        # keeps its currency (the invoices are in euro anyway).
        if company.currency_id != eur and not company.root_id._existing_accounting():
            company.currency_id = eur
        company.sepa_creditor_identifier = CREDITOR_ID
        journal = self.env["account.journal"].create({
            "name": journal_name,
            "code": code,
            "type": "bank",
            "company_id": company.id,
            "bank_account_id": self.env["res.partner.bank"].create({
                "acc_number": CREDITOR_IBAN,
                "partner_id": company.partner_id.id,
            }).id,
        })
        self.env["account.journal"].search([
            ("type", "=", "bank"), ("company_id", "=", company.id), ("id", "!=", journal.id),
        ]).bank_account_id = False
        return journal


class ReturnImportHelpers:
    """The return import wizard of a test: made from a file's bytes, and previewed."""

    return_filename = "returns.xml"

    def wizard(self, data, filename=None, **values):
        return self.env["sepa.return.import"].create({
            "data_file": base64.b64encode(data),
            "filename": filename or self.return_filename, **values})

    def preview(self, data, **values):
        wizard = self.wizard(data, **values)
        wizard.action_preview()
        return wizard


#: Set by ``tools/dev.sh`` (``start_smtp``) for the Odoo tests: the local SMTP server's port
#: and the folder where it saves every message it receives (``tools/smtp_sink.py``).
SMTP_PORT_VARIABLE = "SEPA_TEST_SMTP_PORT"
SMTP_FOLDER_VARIABLE = "SEPA_TEST_SMTP_DIR"


class SmtpCaseMixin:
    """Mail really sent, through Odoo's mail queue, to the local SMTP server that
    ``make test`` (``tools/dev.sh``) starts, and read back as it arrived.

    Put it first: ``class TestX(SmtpCaseMixin, SepaBatchCommon)``. ``setUpClass`` makes
    the test database's only outgoing mail server point at the local server; without
    that server (tests not started by ``tools/dev.sh``) the test class FAILS, it is not
    skipped. :meth:`send_mail_queue` sends queued ``mail.mail`` records (Odoo skips
    sending while a test runs: only there the guard is lifted) and returns the
    messages that arrived (``email.message.EmailMessage``).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        port, folder = os.environ.get(SMTP_PORT_VARIABLE), os.environ.get(SMTP_FOLDER_VARIABLE)
        if not port or not folder:
            raise AssertionError(
                f"No test SMTP server: {SMTP_PORT_VARIABLE} and {SMTP_FOLDER_VARIABLE} are not "
                "set. Run the tests with `make test` or `tools/dev.sh odoo-tests DB FILE`, "
                "which start tools/smtp_sink.py.")
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=10).close()
        except OSError as error:
            raise AssertionError(
                f"The test SMTP server on 127.0.0.1:{port} does not answer ({error}).") from error
        cls.smtp_folder = Path(folder)
        MailServer = cls.env["ir.mail_server"].sudo()
        MailServer.search([]).active = False
        cls.smtp_mail_server = MailServer.create({
            "name": "Test SMTP server (tools/smtp_sink.py)",
            "smtp_host": "127.0.0.1",
            "smtp_port": int(port),
            "smtp_encryption": "none",
            "sequence": 1,
        })

    def send_mail_queue(self, mails=None):
        """Send ``mails`` (default: every outgoing ``mail.mail``, as the queue's cron
        would) to the local SMTP server; return the messages of these mails that
        arrived there, in the order they arrived. Fails when one could not be sent."""
        Mail = self.env["mail.mail"].sudo()
        if mails is None:
            mails = Mail.search([
                ("state", "=", "outgoing"),
                "|", ("scheduled_date", "=", False),
                ("scheduled_date", "<=", fields.Datetime.now()),
            ])
        mails = mails.sudo()
        message_ids = {message_id.strip() for message_id in mails.mapped("message_id")}
        # Odoo neither connects nor sends while a test runs (odoo.modules.module.current_test):
        # lift that guard for this call only. No commit: send() without auto_commit.
        with patch.object(odoo.modules.module, "current_test", False):
            mails.send(raise_exception=True)
        failed = mails.exists().filtered(lambda mail: mail.state == "exception")
        self.assertFalse(failed, "not sent: %s" % failed.mapped("failure_reason"))
        return self.arrived_messages(message_ids)

    def arrived_messages(self, message_ids=None):
        """The messages saved by the local SMTP server (``email.message.EmailMessage``,
        with ``X-Envelope-To`` headers), those with one of ``message_ids`` only."""
        messages = []
        for path in sorted(self.smtp_folder.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message_ids is None or str(message["Message-Id"]).strip() in message_ids:
                messages.append(message)
        return messages

    @staticmethod
    def message_text(message):
        """The text of a message's body (the HTML part as plain text, else the plain
        part), on one line."""
        part = message.get_body(("html", "plain"))
        content = part.get_content()
        if part.get_content_type() == "text/html":
            content = html2plaintext(content)
        return " ".join(content.split())
