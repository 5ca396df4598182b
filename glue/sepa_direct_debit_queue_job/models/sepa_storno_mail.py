from odoo import _, api, models
from odoo.tools import SQL

from odoo.addons.queue_job.job import identity_exact

from .sepa_batch import CHANNEL, lock_rows

#: E-mails sent by one job: a job that fails or is retried sends its chunk again, the
#: e-mails it sent before are not rolled back.
MAILS_AT_ONCE = 200


class SepaStornoMail(models.AbstractModel):
    _inherit = "sepa.storno.mail"

    @api.model
    def _sepa_enqueue_mails(self, mails):
        """The addon's queued customer e-mails ``mails`` sent by jobs of
        ``MAILS_AT_ONCE`` e-mails in the ``root.sepa`` channel, instead of waiting for
        Odoo's mail queue cron (which still sends any e-mail left outgoing)."""
        ids = sorted(mails.ids)
        for start in range(0, len(ids), MAILS_AT_ONCE):
            chunk = ids[start:start + MAILS_AT_ONCE]
            self.with_delay(
                channel=CHANNEL, identity_key=identity_exact,
                description=_("SEPA customer e-mails: %(count)s", count=len(chunk)),
            )._sepa_job_send_mails(chunk)

    @api.model
    def _sepa_job_send_mails(self, mail_ids):
        """Queue job: send the e-mails ``mail_ids`` still outgoing through Odoo's
        ``mail.mail.send`` (no commit; an e-mail the server refuses is marked failed, as
        by the mail queue). E-mails another transaction holds (the mail queue cron
        sending them) are a concurrency error: retried later."""
        ids = lock_rows(self.env, "mail_mail", mail_ids, SQL("state = 'outgoing'"))
        if not ids:
            return _("Nothing to do: the e-mails were sent already.")
        mails = self.env["mail.mail"].sudo().browse(ids)
        mails.invalidate_recordset(["state"])
        mails.send(auto_commit=False, raise_exception=False)
        mails = mails.exists()
        failed = mails.filtered(lambda mail: mail.state == "exception")
        return _("%(sent)s e-mails sent, %(failed)s failed.",
                 sent=len(ids) - len(failed), failed=len(failed))
