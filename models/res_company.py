from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..sepa import SepaError
from ..sepa.ids import validate_creditor_id


class ResCompany(models.Model):
    _inherit = "res.company"

    sepa_creditor_identifier = fields.Char(
        string="SEPA Creditor Identifier",
        help="Creditor identifier (incassant ID) given by your bank or national authority, "
        "e.g. NL08ZZZ502057730000. Printed on mandates and sent in every direct debit file.",
    )
    sepa_oneoff_reuse_after_storno = fields.Boolean(
        string="Reuse One-off Mandate After Storno",
        help="When a debit on a one-off mandate fails, the mandate stays usable for one more "
        "attempt instead of being closed.",
    )

    @api.constrains("sepa_creditor_identifier")
    def _check_sepa_creditor_identifier(self):
        for company in self.filtered("sepa_creditor_identifier"):
            try:
                validate_creditor_id(company.sepa_creditor_identifier)
            except SepaError as error:
                raise ValidationError(
                    _("%(identifier)s is not a valid SEPA creditor identifier for %(company)s: "
                      "%(reason)s",
                      identifier=company.sepa_creditor_identifier, company=company.name,
                      reason=error)
                ) from error

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_creditor_identifier(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_creditor_identifier(vals)
        return super().write(vals)

    @api.model
    def _normalize_creditor_identifier(self, vals):
        value = vals.get("sepa_creditor_identifier")
        if value:
            vals["sepa_creditor_identifier"] = value.replace(" ", "").upper()

    def _sepa_check_creditor_identifier(self):
        """Raise a clear error for companies that cannot collect without an identifier."""
        missing = self.filtered(lambda company: not company.sepa_creditor_identifier)
        if missing:
            raise UserError(
                _("Company %(company)s has no SEPA creditor identifier. Set it in Accounting "
                  "settings (Direct Debit) before printing mandates or collecting.",
                  company=missing[0].name)
            )
