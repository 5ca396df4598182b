from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sepa_creditor_identifier = fields.Char(
        related="company_id.sepa_creditor_identifier",
        readonly=False,
        string="SEPA Creditor Identifier",
        help="Creditor identifier (incassant ID) of the company, e.g. NL08ZZZ502057730000.",
    )
    sepa_oneoff_reuse_after_storno = fields.Boolean(
        related="company_id.sepa_oneoff_reuse_after_storno",
        readonly=False,
        string="Reuse One-off Mandate After Storno",
        help="A one-off mandate whose debit failed may be used for one more attempt.",
    )
