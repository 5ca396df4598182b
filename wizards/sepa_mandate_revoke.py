from odoo import fields, models


class SepaMandateRevoke(models.TransientModel):
    _name = "sepa.mandate.revoke"
    _inherit = "sepa.mandate.wizard.mixin"
    _description = "Revoke SEPA Mandates"

    revocation_date = fields.Date(
        required=True,
        default=fields.Date.context_today,
        help="Date the debtor withdrew the mandate.",
    )
    revocation_reason = fields.Char(
        string="Reason",
        required=True,
        help="Why the mandate is revoked, e.g. 'cancelled by the member'.",
    )

    def action_revoke(self):
        self.mandate_ids._revoke(self.revocation_date, self.revocation_reason)
        return {"type": "ir.actions.act_window_close"}
