from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    sepa_batch_line_id = fields.Many2one(
        "sepa.batch.line",
        string="Direct Debit",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The direct debit this receivable credit of a batch entry collects.",
    )

    def _reconcile_post_hook(self, data):
        """Settle a sent batch once the bank's credit is reconciled with its transit lines.

        Hooked on the reconciliation itself, so it fires whoever reconciles: the addon's
        matcher, a user by hand, Enterprise's widget or OCA's account_reconcile_oca.
        """
        super()._reconcile_post_hook(data)
        batches = self.move_id.sepa_batch_id.filtered(lambda batch: batch.state == "sent")
        if batches:
            batches._settle_if_reconciled()
