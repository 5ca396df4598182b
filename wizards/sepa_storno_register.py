from odoo import api, fields, models

from ..models.sepa_storno import KINDS


class SepaStornoRegister(models.TransientModel):
    """Register a failed debit by hand (the bank told by phone or by a letter), or match
    an unmatched transaction of a return file to its debit ("Match to a Debit")."""

    _name = "sepa.storno.register"
    _description = "Register a SEPA Direct Debit Storno by Hand"

    storno_id = fields.Many2one(
        "sepa.storno", string="Unmatched Transaction", readonly=True, ondelete="set null",
        domain=[("state", "=", "unmatched")],
        help="The transaction of a return file that matched no debit: it becomes the "
        "failed debit of the debit chosen here.")
    company_id = fields.Many2one(
        "res.company", compute="_compute_company_id",
        help="Company of the unmatched transaction: its debits are offered.")
    batch_line_id = fields.Many2one(
        "sepa.batch.line", string="Debit", required=True,
        domain="[('company_id', '=', company_id), ('batch_id.state', 'in', ('sent', 'done')),"
        " ('state', 'in', ('pending', 'collected'))]",
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

    @api.model
    def default_get(self, fields_list):
        """From an unmatched transaction: its reason, kind, date and charge, and its
        debit when its end-to-end id or mandate reference names exactly one."""
        values = super().default_get(fields_list)
        storno = self.env["sepa.storno"].browse(values.get("storno_id"))
        if storno:
            values.update({
                "reason_id": storno.reason_id.id,
                "kind": storno.kind,
                "date": storno.date,
                # the charge the file gave (kept in the raw values)
                "charge_amount": storno.charge_amount
                or float((storno.raw_data or {}).get("charges") or 0),
            })
            if not values.get("batch_line_id"):
                values["batch_line_id"] = storno._suggested_debit().id
        return values

    @api.depends("storno_id", "batch_line_id")
    def _compute_company_id(self):
        for wizard in self:
            wizard.company_id = (wizard.storno_id.company_id or wizard.batch_line_id.company_id
                                 or self.env.company)

    def action_register(self):
        self.ensure_one()
        if self.storno_id:
            storno = self.storno_id._match_to_debit(
                self.batch_line_id, reason_code=self.reason_id.code, kind=self.kind,
                date=self.date,
                **({"charge_amount": self.charge_amount} if self.charge_amount else {}))
        else:
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
