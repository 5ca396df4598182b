import json

from odoo import api, fields, models
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

    def _reconcile_post_hook(self, data):
        """Settle a sent batch once the bank's credit is reconciled with its transit lines.

        Hooked on the reconciliation itself, so it fires whoever reconciles: the addon's
        matcher, a user by hand, Enterprise's widget or OCA's account_reconcile_oca.
        """
        super()._reconcile_post_hook(data)
        batches = self.move_id.sepa_batch_id.filtered(lambda batch: batch.state == "sent")
        if batches:
            batches._settle_if_reconciled()

    # ------------------------------------------------------------------
    # BULK (a batch entry of tens of thousands of lines)
    # ------------------------------------------------------------------

    @api.model
    def _sepa_clone_lines(self, prototype, values):
        """Insert one copy of ``prototype`` per dict of ``values``, in one statement.

        Every column not in ``values`` keeps the prototype's value: the prototype was
        created by the ORM, so defaults and computed columns are what Odoo gives a line
        of this entry. The caller only varies columns nothing else depends on (account,
        partner, label, amounts, direct debit). Returns the new lines.
        """
        if not values:
            return self.browse()
        self.env.flush_all()
        types = dict(self.env.execute_query(SQL("""
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'account_move_line'::regclass AND attnum > 0
               AND NOT attisdropped
        """)))
        varying = list(values[0])
        columns = [name for name in types if name != "id"]
        ids = [row[0] for row in self.env.execute_query(SQL(
            """INSERT INTO account_move_line (%(columns)s)
               SELECT %(select)s
                 FROM account_move_line p,
                      jsonb_to_recordset(%(values)s::jsonb) AS v(%(types)s)
                WHERE p.id = %(prototype)s
               RETURNING id""",
            columns=SQL(", ").join(SQL.identifier(name) for name in columns),
            select=SQL(", ").join(
                SQL.identifier("v" if name in varying else "p", name) for name in columns),
            values=json.dumps(values),
            types=SQL(", ").join(
                SQL("%s %s", SQL.identifier(name), SQL(types[name])) for name in varying),
            prototype=prototype.id,
        ))]
        lines = self.browse(ids)
        prototype.move_id.invalidate_recordset(["line_ids"])
        # Only what other records depend on: the entry's totals, the residuals.
        lines.modified(["balance", "amount_currency", "amount_residual",
                        "amount_residual_currency", "sepa_batch_line_id"], create=True)
        return lines

    @api.model
    def _sepa_reconcile_fully(self, pairs):
        """Fully reconcile each credit line with its debit lines, set-wise in SQL.

        ``pairs``: ``[(credit_id, [debit_id, ...]), ...]`` where every line is in the
        company currency, not yet matched with anything, and each credit's balance is
        the opposite of the sum of its debits. That is the case ``_reconcile_plan``
        handles without exchange difference or cash basis entry: one partial per debit
        line, one full reconcile per credit. The residual amounts and the invoices'
        payment state are then recomputed by the ORM from the new partials.
        """
        if not pairs:
            return self.browse()
        self.env.flush_all()
        cr = self.env.cr
        full_ids = [row[0] for row in self.env.execute_query(SQL(
            "SELECT nextval('account_full_reconcile_id_seq') FROM generate_series(1, %s)",
            len(pairs)))]
        stamp = SQL("%s, %s, %s, %s", self.env.uid, cr.now(), self.env.uid, cr.now())
        self.env.execute_query(SQL(
            """INSERT INTO account_full_reconcile (id, create_uid, create_date, write_uid,
                                                   write_date)
               SELECT full_id, %s FROM unnest(%s::int[]) AS full_id""", stamp, full_ids))
        debit_ids, credit_ids, partial_full_ids, line_ids, line_full_ids = [], [], [], [], []
        for (credit_id, debits), full_id in zip(pairs, full_ids, strict=True):
            debit_ids += debits
            credit_ids += [credit_id] * len(debits)
            partial_full_ids += [full_id] * len(debits)
            line_ids += [credit_id, *debits]
            line_full_ids += [full_id] * (len(debits) + 1)
        self.env.execute_query(SQL(
            """INSERT INTO account_partial_reconcile (
                   debit_move_id, credit_move_id, full_reconcile_id, debit_currency_id,
                   credit_currency_id, company_id, amount, debit_amount_currency,
                   credit_amount_currency, max_date, create_uid, create_date, write_uid,
                   write_date)
               SELECT d.id, c.id, p.full_id, d.currency_id, c.currency_id, d.company_id,
                      d.amount_residual, d.amount_residual_currency,
                      d.amount_residual_currency, GREATEST(d.date, c.date), %(stamp)s
                 FROM unnest(%(debits)s::int[], %(credits)s::int[], %(fulls)s::int[])
                      AS p(debit_id, credit_id, full_id)
                 JOIN account_move_line d ON d.id = p.debit_id
                 JOIN account_move_line c ON c.id = p.credit_id""",
            stamp=stamp, debits=debit_ids, credits=credit_ids, fulls=partial_full_ids))
        self.env.execute_query(SQL(
            """UPDATE account_move_line l
                  SET full_reconcile_id = p.full_id, matching_number = p.full_id::text
                 FROM unnest(%s::int[], %s::int[]) AS p(line_id, full_id)
                WHERE l.id = p.line_id""", line_ids, line_full_ids))
        lines = self.browse(line_ids)
        self.env.invalidate_all()
        lines.modified(["full_reconcile_id", "matching_number", "matched_debit_ids",
                        "matched_credit_ids"])
        return lines

