from odoo import fields, models


class SepaMandateReactivate(models.TransientModel):
    _name = "sepa.mandate.reactivate"
    _inherit = "sepa.mandate.wizard.mixin"
    _description = "Reactivate SEPA Mandates"

    signature_date = fields.Date(
        string="New Signature Date",
        required=True,
        default=fields.Date.context_today,
        help="Date the debtor signed the mandate again. The next debit is a first debit.",
    )

    def action_reactivate(self):
        self.mandate_ids._reactivate(self.signature_date)
        return {"type": "ir.actions.act_window_close"}
