from odoo import _, models
from odoo.exceptions import UserError


class AccountMoveReversal(models.TransientModel):
    _inherit = "account.move.reversal"

    def reverse_moves(self, is_modify=False):
        """Odoo's Reverse Entry is refused on the entry of a batch or of a failed debit:
        it would undo their accounting while the batch stays sent or settled and the
        failed debit registered. Their own Cancel reverses them (the addon's code does
        not come through this dialog)."""
        self._sepa_check_reversible()
        return super().reverse_moves(is_modify=is_modify)

    def _sepa_check_reversible(self):
        moves = self.sudo().move_ids
        batches = moves._sepa_live_batches()
        if batches:
            raise UserError(_(
                "%(batches)s: this entry is the direct debit batch's; reversing it would "
                "take the payments off its invoices. Use Cancel on the batch (possible "
                "until the bank credited it).", batches=", ".join(batches.mapped("name"))))
        stornos = self.env["sepa.storno"].sudo().search(
            [("move_id", "in", moves.ids), ("state", "=", "done")])
        if stornos:
            raise UserError(_(
                "%(stornos)s: this entry booked a failed debit; reversing it by hand would "
                "leave the failed debit registered. Use Cancel Storno on the failed debit.",
                stornos=", ".join(stornos.mapped("display_name"))))
