from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _track_filter_for_display(self, tracking_values):
        """Odoo logs the changes of a bank account on its partner's chatter, old and new
        IBAN included, and every internal user reads a partner's chatter. Those values
        are hidden when the partner holds an account the user may not read: one debited
        by a mandate outside their direct debit rights (group and companies)."""
        tracking_values = super()._track_filter_for_display(tracking_values)
        bank_values = tracking_values.filtered(
            lambda tracking: tracking.field_id.model == "res.partner.bank")
        if bank_values and self._sepa_holds_hidden_bank_accounts():
            return tracking_values - bank_values
        return tracking_values

    def _sepa_holds_hidden_bank_accounts(self):
        debited = self.env["res.partner.bank"].sudo().search([
            ("partner_id", "in", self.ids), ("sepa_mandate_ids", "!=", False)])
        readable = debited.sudo(False)._filtered_access("read")
        return bool(debited - readable)
