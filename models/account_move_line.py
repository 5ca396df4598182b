from odoo import api, fields, models
from odoo.tools import SQL

from .account_bank_statement_line import HOOK_OFF


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

    @api.model
    def _reconcile_plan(self, reconciliation_plan):
        """A bank debit reconciled by hand with a direct debit's line (its batch entry,
        its invoice) is that debit's storno: registered first, the bank debit then paired
        with the storno (``account.bank.statement.line._sepa_reroute_plan``).

        Hooked here, before Odoo checks the lines: every reconciliation goes through it
        (``reconcile()``, OCA's account_reconcile_oca, Enterprise's widget), and the
        lines a user picks are often reconciled already (the invoice with the batch
        credit), which Odoo would refuse. One indexed query when no bank debit is in it.
        """
        if not self.env.context.get(HOOK_OFF):
            reconciliation_plan = self.env["account.bank.statement.line"] \
                ._sepa_reroute_plan(reconciliation_plan)
        return super()._reconcile_plan(reconciliation_plan)

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
