from odoo import fields, models

from ..constants import PAIN_VERSIONS


class AccountJournal(models.Model):
    _inherit = "account.journal"

    sepa_pain_version = fields.Selection(
        PAIN_VERSIONS,
        string="pain.008 Version",
        help="Version of the direct debit files collected on this bank account; empty: "
        "the company's setting.",
    )

    def _sepa_pain_version(self):
        self.ensure_one()
        return self.sepa_pain_version or self.company_id.sepa_pain_version
