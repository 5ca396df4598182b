from odoo import api, fields, models


class SepaMandateWizardMixin(models.AbstractModel):
    _name = "sepa.mandate.wizard.mixin"
    _description = "Wizard Acting on Selected SEPA Mandates"

    mandate_ids = fields.Many2many(
        "sepa.mandate",
        string="Mandates",
        required=True,
        help="The mandates this wizard acts on.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "sepa.mandate":
            values["mandate_ids"] = [(6, 0, self.env.context.get("active_ids", []))]
        return values
