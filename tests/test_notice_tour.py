"""What the customer is told before a debit and after a failed one, in Chromium
(static/tests/tours/sepa_notice_tour.js): the batch's pre-notification counts, the
control after reconciliation with the planned re-presentation, and the invoice's
pre-notification on the customer portal (the invoice's Preview).

The e-mails really go to the local SMTP server (tools/smtp_sink.py): the README's
pictures of both e-mails are made from the messages this test leaves there."""

from odoo import Command, fields
from odoo.tests import tagged

from .common import IBAN_A, IBAN_B, IBAN_C, SepaTourCase, SmtpCaseMixin


@tagged("post_install", "-at_install")
class TestNoticeTour(SmtpCaseMixin, SepaTourCase):
    def customer(self, name, iban, email=False):
        """A customer collected by direct debit under an active recurring mandate."""
        partner = self.env["res.partner"].create({
            "name": name, "email": email, "lang": "en_US",
            "country_id": self.env.ref("base.nl").id, "city": "Utrecht"})
        bank = self.env["res.partner.bank"].create({"acc_number": iban, "partner_id": partner.id})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id, "partner_bank_id": bank.id,
            "signature_date": "2025-01-15"})
        mandate.action_activate()
        mandate.sequence_type_override = "recurring"
        partner.sepa_collect = True
        return partner, mandate

    def invoice(self, partner, amount):
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.clear()],
            })],
        })
        invoice.action_post()
        return invoice

    def mails_of(self, invoices):
        return self.env["mail.mail"].sudo().search([
            ("model", "=", "account.move"), ("res_id", "in", invoices.ids)])

    def setup_notices(self):
        """A company notifying on the invoice and by e-mail, re-presenting failed debits
        after payday; a sent batch of two debits (one customer without e-mail address)
        whose pre-notification e-mails went out, both debits failed (AM04: re-presented
        by the policy; MD06: to decide); and an open invoice still to collect."""
        journal = self.setup_creditor("Tour Notice Bank", "TNBK")
        company = self.env.company
        company.write({"name": "Tennisclub De Eendracht",
                       "email": "ledenadministratie@eendracht-club.example",
                       "sepa_notice_method": "both", "sepa_represent_auto": True})
        notified, _mandate = self.customer("Jan de Vries", IBAN_A,
                                           email="jan@devries.example")
        silent, _mandate = self.customer("Piet Zonder Mail", IBAN_B)
        invoices = {"notified": self.invoice(notified, 40.0), "silent": self.invoice(silent, 25.0)}
        proposal = self.env["sepa.batch.proposal"].create({"journal_id": journal.id})
        proposal.action_propose()
        batch = self.env["sepa.batch"].browse(proposal.action_create_batch()["res_id"])
        self.assertEqual(batch.line_ids.invoice_id,
                         invoices["notified"] | invoices["silent"])
        arrived = self.send_mail_queue(self.mails_of(batch.line_ids.invoice_id))
        self.assertEqual([message["X-Envelope-To"] for message in arrived],
                         ["jan@devries.example"])
        batch.action_generate()
        batch.action_send()
        lines = {key: batch.line_ids.filtered(lambda line, i=invoice: line.invoice_id == i)
                 for key, invoice in invoices.items()}
        stornos = self.env["sepa.storno"].register([
            {"batch_line_id": lines["notified"].id, "reason_code": "AM04", "kind": "return",
             "date": fields.Date.today(), "source": "manual"},
            {"batch_line_id": lines["silent"].id, "reason_code": "MD06", "kind": "refund",
             "date": fields.Date.today(), "source": "manual"}])
        failed_mails = self.mails_of(stornos.invoice_ids)
        arrived = self.send_mail_queue(failed_mails)
        self.assertEqual([message["X-Envelope-To"] for message in arrived],
                         ["jan@devries.example"])
        portal_partner, _mandate = self.customer("Anna Jansen", IBAN_C,
                                                 email="anna@jansen.example")
        open_invoice = self.invoice(portal_partner, 55.0)
        self.assertTrue(open_invoice.sepa_notice_text)
        return batch, stornos, open_invoice

    def test_notice_tour(self):
        batch, stornos, open_invoice = self.setup_notices()
        represented = stornos.filtered(lambda storno: storno.reason_code == "AM04")
        refunded = stornos - represented
        # what the user sees in the tour, prepared
        self.assertEqual((batch.notice_sent_count, batch.notice_queued_count,
                          batch.notice_failed_count, batch.notice_no_email_count), (1, 0, 0, 1))
        self.assertRecordValues(represented, [{"release_state": "retry",
                                               "released_by_policy": True}])
        planned = represented.represent_date
        self.assertGreater(planned, fields.Date.context_today(batch))
        self.assertRecordValues(refunded, [{"release_state": "none",
                                            "represent_date": False}])

        self.start_tour("/odoo", "sepa_notice_tour", login="admin")

        # the control the user opened showed the policy's plan and the open decision
        control = self.env["sepa.control"].search([("batch_ids", "in", batch.ids)],
                                                  order="id desc", limit=1)
        self.assertTrue(control, "the tour opened the control of the batch")
        self.assertRecordValues(
            control.line_ids.sorted(lambda line: line.partner_id.name), [
                {"partner_id": represented.partner_id.id, "release": "retry",
                 "represent_date": planned},
                # pre-filled Retry, not planned: the bookkeeper decides
                {"partner_id": refunded.partner_id.id, "release": "retry",
                 "represent_date": False},
            ])
        # the tour only looked: nothing decided, nothing collected again
        self.assertFalse(control.processed)
        self.assertRecordValues(stornos.sorted("id"), [
            {"release_state": "retry", "represent_date": planned},
            {"release_state": "none", "represent_date": False},
        ])
        self.assertEqual((batch.notice_sent_count, batch.notice_no_email_count), (1, 1))
        # the invoice the customer saw is still to collect, its notice unchanged
        self.assertEqual(open_invoice.sepa_state, "to_collect")
        self.assertIn("will be debited from your account NL** **** **** **",
                      open_invoice.sepa_notice_text)
        self.assertTrue(open_invoice.access_token)
