from odoo import fields, models
from odoo.tools import SQL


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

    sepa_storno_id = fields.Many2one(
        "sepa.storno",
        string="Storno",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The failed debit this line of a storno entry books.",
    )

    sepa_fee_storno_id = fields.Many2one(
        "sepa.storno",
        string="Storno of the Fee",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The failed debit whose storno fee this invoice line re-invoices to the "
        "customer (or credits, on the credit note of a cancelled storno).",
    )

    def _reconcile_post_hook(self, data):
        """Settle a sent batch once the bank's credit is reconciled with its transit lines.

        Hooked on the reconciliation itself, so it fires whoever reconciles: the addon's
        matcher, a user by hand, Enterprise's widget or OCA's account_reconcile_oca.
        """
        super()._reconcile_post_hook(data)
        # One indexed read: a reconciliation may hold tens of thousands of lines.
        self.env["account.move.line"].flush_model(["move_id"])
        self.env["sepa.batch"].flush_model(["move_id", "state"])
        batch_ids = [row[0] for row in self.env.execute_query(SQL("""
            SELECT DISTINCT batch.id
              FROM sepa_batch batch
              JOIN account_move_line aml ON aml.move_id = batch.move_id
             WHERE aml.id = ANY(%s) AND batch.state = 'sent'
        """, self.ids))]
        if batch_ids:
            self.env["sepa.batch"].browse(batch_ids)._settle_if_reconciled()
