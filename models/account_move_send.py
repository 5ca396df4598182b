from markupsafe import Markup

from odoo import api, models


class AccountMoveSend(models.AbstractModel):
    _inherit = "account.move.send"

    @api.model
    def _get_default_mail_body(self, move, mail_template, mail_lang):
        # The invoice e-mail carries the pre-notification of its debit, in the e-mail's
        # language, whatever the template (Odoo's or the company's own).
        body = super()._get_default_mail_body(move, mail_template, mail_lang)
        notice = move.with_context(lang=mail_lang).sepa_notice_text
        if not notice:
            return body
        return Markup('{}<p name="sepa_notice">{}</p>').format(body or "", notice)

    @api.model
    def _send_mails(self, moves_data):
        super()._send_mails(moves_data)
        # what Odoo sent: the moves whose customer has an e-mail address
        sent = self.env["account.move"].browse(
            [move.id for move in moves_data if move.partner_id.email])
        sent._sepa_record_notice()
