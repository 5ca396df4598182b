from odoo import _, models
from odoo.exceptions import UserError


class SepaStateMixin(models.AbstractModel):
    _name = "sepa.state.mixin"
    _description = "SEPA Record With a State Checked Before Each Action"

    def _check_state(self, allowed, action):
        """Refuse ``action`` (a translated verb) unless every record is in ``allowed``."""
        wrong = self.filtered(lambda record: record.state not in allowed)
        if wrong:
            states = dict(self._fields["state"]._description_selection(self.env))
            raise UserError(
                _("Cannot %(action)s %(record)s: it is %(state)s.",
                  action=action, record=wrong[0].display_name, state=states[wrong[0].state])
            )
