from odoo import fields, models


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    sepa_mandate_ids = fields.One2many(
        "sepa.mandate",
        "partner_bank_id",
        string="SEPA Mandates",
        help="Direct debit mandates that debit this account.",
    )
