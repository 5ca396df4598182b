from odoo.tests import TransactionCase, tagged

from .common import SmtpCaseMixin


@tagged("post_install", "-at_install")
class TestLocalMailServer(SmtpCaseMixin, TransactionCase):
    """The local SMTP server of `make test`: mail queued in Odoo arrives there."""

    def test_queued_mail_arrives(self):
        partner = self.env["res.partner"].create({
            "name": "Anna de Boer", "email": "anna@example.nl"})
        mail = self.env["mail.mail"].create({
            "subject": "Uw incasso van 25 maart",
            "email_from": "ledenadministratie@example.org",
            "recipient_ids": [(4, partner.id)],
            "body_html": "<p>Het bedrag van <b>€ 12,50</b> wordt afgeschreven.</p>",
        })
        other = self.env["mail.mail"].create({
            "subject": "Not sent by this test", "email_to": "nobody@example.org",
            "body_html": "<p>later</p>", "scheduled_date": "2999-01-01 00:00:00"})
        arrived = self.send_mail_queue()
        self.assertEqual(len(arrived), 1)
        message = arrived[0]
        self.assertEqual(message["X-Envelope-To"], "anna@example.nl")
        self.assertIn("anna@example.nl", message["To"])
        self.assertEqual(message["Subject"], "Uw incasso van 25 maart")
        self.assertEqual(self.message_text(message), "Het bedrag van *€ 12,50* wordt afgeschreven.")
        self.assertEqual(mail.state, "sent")
        self.assertEqual(other.state, "outgoing")
