from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SepaStornoRelease(models.TransientModel):
    """Retry or hold failed debits from the Failed Debits list, the failed debit's form
    or the invoice: a hold asks for a note; a retry says first what it means where there
    is something to know (a reason that needs a new account or mandate, a refund)."""

    _name = "sepa.storno.release"
    _description = "Release SEPA Direct Debit Failed Debits"

    storno_ids = fields.Many2many(
        "sepa.storno", string="Failed Debits", required=True, readonly=True,
        help="The failed debits retried or held.")
    release = fields.Selection(
        [("retry", "Retry"), ("hold", "Hold")], required=True, default="hold",
        readonly=True,
        help="Retry: the next proposal collects the invoices again. Hold: kept out of the "
        "proposals until released, with a note.")
    note = fields.Char(
        string="Hold Note",
        help="Why the invoices of these failed debits are held (required for a hold).")
    warning = fields.Text(
        compute="_compute_warning",
        help="What a retry of these failed debits means: one line for each that needs a "
        "new account or mandate or was refunded to the customer.")
    needs_new_account = fields.Boolean(
        string="Needs a New Account or Mandate", compute="_compute_warning",
        help="Some of these failed debits have a reason a retry on the same account "
        "cannot succeed on.")
    retry_anyway = fields.Boolean(
        string="Retry Anyway",
        help="The customer gave a new account or mandate: retry although the reason "
        "(account closed, no mandate, refused, ...) needs one. Refused while the mandate "
        "still has the account that failed.")

    @api.depends("storno_ids", "release")
    def _compute_warning(self):
        for wizard in self:
            stornos = wizard.storno_ids._origin
            retry = wizard.release == "retry"
            wizard.warning = retry and "\n".join(stornos._retry_warnings()) or False
            wizard.needs_new_account = retry and bool(stornos._needs_new_account())

    def action_confirm(self):
        self.ensure_one()
        stornos = self.storno_ids
        if self.release == "hold":
            note = (self.note or "").strip()
            if not note:
                raise UserError(_("Give a note: why are these failed debits held?"))
            stornos.action_hold(note)
        else:
            stornos._check_state(("done",), _("retry"))
            stornos._retry(confirmed=self.retry_anyway)
        return {"type": "ir.actions.act_window_close"}
