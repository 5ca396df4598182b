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

    # ------------------------------------------------------------------
    # BULK (a batch entry of tens of thousands of lines)
    # ------------------------------------------------------------------

    @api.model
    def _sepa_expand_line(self, line, values):
        """Split the posted ``line`` into one line per dict of ``values``, in SQL.

        ``line`` takes ``values[0]``; one copy of it is inserted per following dict.
        Every column not in ``values`` keeps the value the ORM gave ``line`` (defaults,
        computed and related columns, posted state). The caller only varies columns
        nothing else on the line depends on (partner, label, amounts, reconciliation,
        direct debit) and keeps the entry balanced. Returns all the lines.
        """
        self.env.flush_all()
        types = dict(self.env.execute_query(SQL("""
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'account_move_line'::regclass AND attnum > 0
               AND NOT attisdropped
        """)))
        varying = list(values[0])
        record = SQL("jsonb_to_recordset(%s::jsonb) AS v(%s)", json.dumps(values[1:]),
                     SQL(", ").join(SQL("%s %s", SQL.identifier(name), SQL(types[name]))
                                    for name in varying))
        columns = [name for name in types if name != "id"]
        self.env.execute_query(SQL(
            "UPDATE account_move_line SET %s WHERE id = %s",
            SQL(", ").join(SQL("%s = %s", SQL.identifier(name), values[0][name])
                           for name in varying), line.id))
        ids = [row[0] for row in self.env.execute_query(SQL(
            """INSERT INTO account_move_line (%(columns)s)
               SELECT %(select)s FROM account_move_line p, %(record)s
                WHERE p.id = %(line)s
               RETURNING id""",
            columns=SQL(", ").join(SQL.identifier(name) for name in columns),
            select=SQL(", ").join(
                SQL.identifier("v" if name in varying else "p", name) for name in columns),
            record=record,
            line=line.id,
        ))] if len(values) > 1 else []
        # Nothing stored on the entry changes: its totals count the debits only
        # (untouched), and the account, on which the rest depends, is the same.
        self.env.invalidate_all()
        return line | self.browse(ids)

    @api.model
    def _sepa_new_full_reconciles(self, count):
        """Create ``count`` full reconciles in one statement; return their ids."""
        full_ids = [row[0] for row in self.env.execute_query(SQL(
            "SELECT nextval('account_full_reconcile_id_seq') FROM generate_series(1, %s)",
            count))]
        self.env.execute_query(SQL(
            """INSERT INTO account_full_reconcile (id, create_uid, create_date, write_uid,
                                                   write_date)
               SELECT full_id, %s, %s, %s, %s FROM unnest(%s::int[]) AS full_id""",
            self.env.uid, self.env.cr.now(), self.env.uid, self.env.cr.now(), full_ids))
        return full_ids

    @api.model
    def _sepa_reconcile_invoices(self, triples):
        """Fully reconcile customer invoices with the credits of a batch entry, in SQL.

        ``triples``: ``[(credit_id, [receivable_id, ...], full_id), ...]`` where the
        receivables are ALL the open receivable lines of a posted invoice, in company
        currency and not matched with anything yet, the credit (a line of a plain entry,
        no payment, no statement line) is their exact opposite, and ``full_id`` a full
        reconcile made with ``_sepa_new_full_reconciles`` (possibly set on the credit
        already when it was inserted). Odoo's reconciliation would then create one
        partial per receivable, one full reconcile per invoice, set every residual to
        zero and mark the invoice paid ('In Payment' while the batch is not settled, see
        ``account.move._compute_payment_state``), nothing else (no exchange difference,
        no cash basis entry): that is written here set-wise, then the ORM recomputes what
        depends on the invoices' payment (fields of other modules).
        """
        if not triples:
            return self.browse()
        self.env.flush_all()
        debit_ids, credit_ids, partial_full_ids, line_ids, line_full_ids = [], [], [], [], []
        for credit_id, debits, full_id in triples:
            debit_ids += debits
            credit_ids += [credit_id] * len(debits)
            partial_full_ids += [full_id] * len(debits)
            line_ids += [credit_id, *debits]
            line_full_ids += [full_id] * (len(debits) + 1)
        self._sepa_insert_partials(debit_ids, credit_ids, partial_full_ids)
        self.env.execute_query(SQL(
            """UPDATE account_move_line l
                  SET full_reconcile_id = p.full_id, matching_number = p.full_id::text,
                      amount_residual = 0, amount_residual_currency = 0, reconciled = TRUE,
                      write_uid = %s, write_date = %s
                 FROM unnest(%s::int[], %s::int[]) AS p(line_id, full_id)
                WHERE l.id = p.line_id AND l.full_reconcile_id IS DISTINCT FROM p.full_id
            """, self.env.uid, self.env.cr.now(), line_ids,
            line_full_ids))
        invoice_ids = [row[0] for row in self.env.execute_query(SQL(
            """UPDATE account_move SET amount_residual = 0, amount_residual_signed = 0,
                      payment_state = %s, write_uid = %s, write_date = %s
                WHERE id IN (SELECT move_id FROM account_move_line WHERE id = ANY(%s))
               RETURNING id""", self.env["account.move"]._sepa_in_batch_payment_state(),
            self.env.uid, self.env.cr.now(), debit_ids))]
        lines = self.browse(line_ids)
        invoices = self.env["account.move"].browse(invoice_ids)
        self._sepa_invalidate_reconciliation(lines, invoices)
        # What depends on the invoices' payment is recomputed (their direct debit status,
        # fields of other modules); what was written above is not computed again. The
        # only stored fields of Odoo that depend on the lines' reconciliation are those
        # of their moves: the invoices' (written) and the entry's (an entry's payment
        # state is always 'not_paid'; its totals count its debits only).
        invoices.modified(["amount_residual", "amount_residual_signed", "payment_state"])
        _keep_written(invoices, "_compute_amount", "_compute_payment_state")
        return lines

    def _sepa_invalidate_reconciliation(self, lines, invoices):
        """Forget what SQL changed; keep the rest of the cache."""
        self.env["account.partial.reconcile"].invalidate_model()
        self.env["account.full.reconcile"].invalidate_model()
        lines.invalidate_recordset([
            "amount_residual", "amount_residual_currency", "reconciled", "full_reconcile_id",
            "matching_number", "matched_debit_ids", "matched_credit_ids"])
        invoices.invalidate_recordset(["amount_residual", "amount_residual_signed",
                                       "payment_state"])

    def _sepa_insert_partials(self, debit_ids, credit_ids, full_ids):
        stamp = SQL("%s, %s, %s, %s", self.env.uid, self.env.cr.now(), self.env.uid,
                    self.env.cr.now())
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
            stamp=stamp, debits=debit_ids, credits=credit_ids, fulls=full_ids))


def _keep_written(records, *methods):
    """Drop the pending recomputation of the stored fields computed by ``methods``."""
    for field in records._fields.values():
        if field.store and field.compute in methods:
            records.env.remove_to_compute(field, records)
