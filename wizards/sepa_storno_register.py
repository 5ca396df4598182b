from odoo import api, fields, models

from ..models.sepa_storno import KINDS


class SepaStornoRegister(models.TransientModel):
    """Register a failed debit by hand (the bank told by phone or by a letter)."""

    _name = "sepa.storno.register"
    _description = "Register a SEPA Direct Debit Storno by Hand"

    batch_line_id = fields.Many2one(
        "sepa.batch.line", string="Debit", required=True, readonly=True,
        help="A line of the failed debit; every invoice of the debit is reopened.")
    batch_state = fields.Selection(
        related="batch_line_id.batch_id.state", help="State of the debit's batch.")
    reason_id = fields.Many2one(
        "sepa.return.reason", string="Reason", required=True,
        help="Reason code the bank gave; its points go to the mandate's storno score.")
    kind = fields.Selection(
        KINDS, required=True, default=lambda self: self._default_kind(),
        help="Reject: refused before settlement (the bank credits the batch without it). "
        "Return, refund, reversal: booked back after settlement.")
    date = fields.Date(
        required=True, default=fields.Date.context_today,
        help="Date of the reject or return; also the date of the storno entry.")
    charge_amount = fields.Monetary(
        string="Bank Charge", currency_field="currency_id",
        help="Charge the bank took; empty: the company's default charge when the reason is "
        "the debtor's failure, none otherwise.")
    currency_id = fields.Many2one(related="batch_line_id.currency_id")

    @api.model
    def _default_kind(self):
        line = self.env["sepa.batch.line"].browse(self.env.context.get("default_batch_line_id"))
        return "reject" if line.batch_id.state == "sent" else "return"

    def action_register(self):
        self.ensure_one()
        storno = self.env["sepa.storno"].register([{
            "batch_line_id": self.batch_line_id.id,
            "reason_code": self.reason_id.code,
            "kind": self.kind,
            "date": self.date,
            "source": "manual",
            **({"charge_amount": self.charge_amount} if self.charge_amount else {}),
        }])
        return {
            "type": "ir.actions.act_window",
            "res_model": "sepa.storno",
            "res_id": storno.id,
            "views": [(False, "form")],
            "name": storno.name,
        }
