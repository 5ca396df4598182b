from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        """Before Odoo deletes the sent e-mails: the debits they pre-notified are
        notified, or failed (``sepa.prenote.mail._mails_processed``)."""
        self.env["sepa.prenote.mail"].sudo()._mails_processed(self)
        return super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type)
