from odoo import api, fields, models


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    sepa_mandate_ids = fields.One2many(
        "sepa.mandate",
        "partner_bank_id",
        string="SEPA Mandates",
        help="Direct debit mandates that debit this account.",
    )

    # ------------------------------------------------------------------
    # CONSTRAINT
    # ------------------------------------------------------------------

    @api.constrains("acc_number", "partner_id")
    def _check_sepa_mandates(self):
        """The account of a mandate that may still debit stays a valid IBAN of its
        debtor, whether the mandate or this record is edited."""
        self.sudo().sepa_mandate_ids.filtered(
            lambda mandate: mandate.state in ("draft", "active"))._check_partner_bank()

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    def write(self, vals):
        if "acc_number" not in vals:
            return super().write(vals)
        # Also for users who do not see mandates: the bank must be told either way.
        mandates = self.sudo().sepa_mandate_ids.filtered(lambda m: m.state == "active")
        old_ibans = {mandate.id: mandate.debtor_iban for mandate in mandates}
        # an account a failed debit said was no longer valid: any state (a revoked
        # mandate is reactivated with the customer's new account)
        flagged = self.sudo().sepa_mandate_ids.filtered("invalid_account_storno_id")
        flagged_ibans = {mandate.id: mandate.debtor_iban for mandate in flagged}
        result = super().write(vals)
        mandates._record_account_change(old_ibans)
        flagged._clear_invalid_account(flagged_ibans)
        return result
