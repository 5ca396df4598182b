"""Set-wise reconciliation in SQL: what Odoo's reconciliation gives for tens of thousands
of lines (partials, full reconciles, residuals, payment states), written in a few
statements and checked in one query. It knows lines, invoices and entries only: the
callers pass plain ids and rows (see ``tests/test_reconcile_setwise.py``, which holds it
against Odoo's ``reconcile()`` and ``remove_move_reconcile()``).
"""

import itertools
import json

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

#: Lines inserted per statement when a summary line is split (``_expand_line``).
EXPAND_CHUNK = 10000


class SepaReconcileSetwise(models.AbstractModel):
    """The set-wise reconciliation engine: plain lines and ids in, SQL out."""

    _name = "sepa.reconcile.setwise"
    _description = "SEPA Direct Debit Set-wise Reconciliation"

    @api.model
    def _expand_line(self, line, values):
        """Split the posted ``line`` into one line per dict of ``values``, in SQL.

        ``line`` takes ``values[0]``; one copy of it is inserted per following dict, in
        INSERTs of ``EXPAND_CHUNK`` lines (the values of 100,000 lines in one statement
        hold about 100 MB at once). Every column not in ``values`` keeps the value the
        ORM gave ``line`` (defaults, computed and related columns, posted state). The
        caller only varies columns nothing else on the line depends on (partner, label,
        amounts, reconciliation, its own columns) and keeps the entry balanced. ``values``
        may be an iterable (consumed once). Returns all the lines.
        """
        self.env.flush_all()
        types = dict(self.env.execute_query(SQL("""
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'account_move_line'::regclass AND attnum > 0
               AND NOT attisdropped
        """)))
        values = iter(values)
        first = next(values)
        varying = list(first)
        columns = [name for name in types if name != "id"]
        self.env.execute_query(SQL(
            "UPDATE account_move_line SET %s WHERE id = %s",
            SQL(", ").join(SQL("%s = %s", SQL.identifier(name), first[name])
                           for name in varying), line.id))
        ids = []
        while chunk := list(itertools.islice(values, EXPAND_CHUNK)):
            record = SQL("jsonb_to_recordset(%s::jsonb) AS v(%s)", json.dumps(chunk),
                         SQL(", ").join(SQL("%s %s", SQL.identifier(name), SQL(types[name]))
                                        for name in varying))
            ids += [row[0] for row in self.env.execute_query(SQL(
                """INSERT INTO account_move_line (%(columns)s)
                   SELECT %(select)s FROM account_move_line p, %(record)s
                    WHERE p.id = %(line)s
                   RETURNING id""",
                columns=SQL(", ").join(SQL.identifier(name) for name in columns),
                select=SQL(", ").join(
                    SQL.identifier("v" if name in varying else "p", name) for name in columns),
                record=record,
                line=line.id,
            ))]
        # Nothing stored on the entry changes: its totals count the debits only
        # (untouched), and the account, on which the rest depends, is the same.
        self.env.invalidate_all()
        return line | line.browse(ids)

    @api.model
    def _new_full_reconciles(self, count):
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
    def _reconcile_setwise(self, triples, payment_state):
        """Fully reconcile customer invoices with the credits of an entry, in SQL.

        ``triples``: ``[(credit_id, [receivable_id, ...], full_id), ...]`` where the
        receivables are ALL the open receivable lines of a posted invoice, in company
        currency and not matched with anything yet, the credit (a line of a plain entry,
        no payment, no statement line) is their exact opposite, and ``full_id`` a full
        reconcile made with ``_new_full_reconciles`` (possibly set on the credit
        already when it was inserted). Odoo's reconciliation would then create one
        partial per receivable, one full reconcile per invoice, set every residual to
        zero and mark the invoice paid (``payment_state``: 'paid', or what an override
        of ``account.move._compute_payment_state`` gives these invoices), nothing else
        (no exchange difference, no cash basis entry): that is written here set-wise,
        then the ORM recomputes what depends on the invoices' payment (fields of other
        modules). Returns the lines.
        """
        if not triples:
            return self.env["account.move.line"]
        self.env.flush_all()
        debit_ids, credit_ids, partial_full_ids, line_ids, line_full_ids = [], [], [], [], []
        for credit_id, debits, full_id in triples:
            debit_ids += debits
            credit_ids += [credit_id] * len(debits)
            partial_full_ids += [full_id] * len(debits)
            line_ids += [credit_id, *debits]
            line_full_ids += [full_id] * (len(debits) + 1)
        self._insert_partials(debit_ids, credit_ids, partial_full_ids)
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
               RETURNING id""", payment_state, self.env.uid, self.env.cr.now(),
            debit_ids))]
        lines = self.env["account.move.line"].browse(line_ids)
        invoices = self.env["account.move"].browse(invoice_ids)
        self._invalidate_reconciliation(lines, invoices)
        # What depends on the invoices' payment is recomputed (fields of other modules
        # and of the caller's); what was written above is not computed again. The only
        # stored fields of Odoo that depend on the lines' reconciliation are those of
        # their moves: the invoices' (written) and the entry's (an entry's payment state
        # is always 'not_paid'; its totals count its debits only).
        invoices.modified(["amount_residual", "amount_residual_signed", "payment_state"])
        _keep_written(invoices, "_compute_amount", "_compute_payment_state")
        return lines

    @api.model
    def _reconcile_partial_setwise(self, groups, moves):
        """Reconcile partly in SQL each group ``[debit id, credit id, ...]`` whose debit
        stays open (its credits are less than what is open on it): one partial per
        credit, for the credit's residual, no full reconcile, the matching number Odoo
        gives ('P' and the smallest partial of the debit). Lines of entries in company
        currency (an entry's stored fields do not depend on residuals); ``moves``: their
        entries. Returns the groups left to Odoo (those that close their debit: a full
        reconcile). Checked in one query."""
        if not groups:
            return []
        self.env.flush_all()
        residual = dict(self.env.execute_query(SQL(
            "SELECT id, amount_residual FROM account_move_line WHERE id = ANY(%s)",
            [line_id for group in groups for line_id in group])))
        half = min(moves.company_id.currency_id.mapped("rounding") or [0.01]) / 2
        setwise = [group for group in groups
                   if residual[group[0]] + sum(residual[i] for i in group[1:]) >= half]
        if not setwise:
            return groups
        debit_ids = [group[0] for group in setwise for _credit in group[1:]]
        credit_ids = [credit for group in setwise for credit in group[1:]]
        stamp = SQL("%s, %s, %s, %s", self.env.uid, self.env.cr.now(), self.env.uid,
                    self.env.cr.now())
        self.env.execute_query(SQL(
            """INSERT INTO account_partial_reconcile (
                   debit_move_id, credit_move_id, debit_currency_id, credit_currency_id,
                   company_id, amount, debit_amount_currency, credit_amount_currency,
                   max_date, create_uid, create_date, write_uid, write_date)
               SELECT d.id, c.id, d.currency_id, c.currency_id, d.company_id,
                      -c.amount_residual, -c.amount_residual_currency,
                      -c.amount_residual_currency, GREATEST(d.date, c.date), %(stamp)s
                 FROM unnest(%(debits)s::int[], %(credits)s::int[]) AS p(debit_id, credit_id)
                 JOIN account_move_line d ON d.id = p.debit_id
                 JOIN account_move_line c ON c.id = p.credit_id""",
            stamp=stamp, debits=debit_ids, credits=credit_ids))
        uid, now = self.env.uid, self.env.cr.now()
        open_ids = [group[0] for group in setwise]
        self.env.execute_query(SQL(
            """UPDATE account_move_line d
                  SET amount_residual = d.amount_residual - m.amount,
                      amount_residual_currency = d.amount_residual_currency - m.amount_cur,
                      write_uid = %s, write_date = %s
                 FROM (SELECT debit_move_id, SUM(amount) AS amount,
                              SUM(debit_amount_currency) AS amount_cur
                         FROM account_partial_reconcile
                        WHERE debit_move_id = ANY(%s) AND credit_move_id = ANY(%s)
                        GROUP BY debit_move_id) m
                WHERE d.id = m.debit_move_id""", uid, now, open_ids, credit_ids))
        self.env.execute_query(SQL(
            """UPDATE account_move_line SET amount_residual = 0, amount_residual_currency = 0,
                      reconciled = TRUE, write_uid = %s, write_date = %s
                WHERE id = ANY(%s)""", uid, now, credit_ids))
        self.env.execute_query(SQL(
            """UPDATE account_move_line l SET matching_number = 'P' || n.number
                 FROM (SELECT debit_move_id AS open_id, MIN(id) AS number
                         FROM account_partial_reconcile WHERE debit_move_id = ANY(%s)
                        GROUP BY debit_move_id) n
                WHERE l.id = n.open_id OR l.id IN (
                      SELECT credit_move_id FROM account_partial_reconcile
                       WHERE debit_move_id = n.open_id)""", open_ids))
        lines = self.env["account.move.line"].browse(open_ids + credit_ids)
        self._invalidate_reconciliation(lines, self.env["account.move"])
        self._check_reconciliation(moves, lines, self.env["account.move"])
        return [group for group in groups if group not in setwise]

    @api.model
    def _unreconcile_setwise(self, rows, moves, keep_credits=False, invoice_values=None):
        """Remove the full reconciles of ``rows`` and their partials in SQL; every line
        is open again for its balance, every invoice not paid for its original residual.
        Checked (``moves``: the entries of the credits); the ORM recomputes what depends
        on it, as Odoo's ``remove_move_reconcile`` of the credits would leave it.

        ``rows``: dicts with ``full_id`` (a full reconcile of ``credit_id`` with ALL the
        receivables of the invoice ``invoice_id``, nothing else: what
        ``_reconcile_setwise`` makes). ``keep_credits``: the credits keep their full
        reconcile and stay reconciled (without partial: the caller reconciles each with a
        new line at once); only the invoices' side is reopened. ``invoice_values``:
        ``{column: (value, invoice ids)}``, written on those invoices by the same UPDATE
        (the caller keeps it from being computed again). Returns the lines reopened."""
        if not rows:
            return self.env["account.move.line"]
        self.env.flush_all()  # else a pending recomputation overwrites what is written
        full_ids = [row["full_id"] for row in rows]
        kept = [row["credit_id"] for row in rows] if keep_credits else []
        uid, now = self.env.uid, self.env.cr.now()
        self.env.execute_query(SQL(
            "DELETE FROM account_partial_reconcile WHERE full_reconcile_id = ANY(%s)",
            full_ids))
        line_rows = self.env.execute_query(SQL(
            """UPDATE account_move_line
                  SET full_reconcile_id = NULL, matching_number = NULL, reconciled = FALSE,
                      amount_residual = balance, amount_residual_currency = amount_currency,
                      write_uid = %s, write_date = %s
                WHERE full_reconcile_id = ANY(%s) AND id != ALL(%s)
            RETURNING id""", uid, now, full_ids, kept))
        if not keep_credits:
            self.env.execute_query(SQL(
                "DELETE FROM account_full_reconcile WHERE id = ANY(%s)", full_ids))
        invoice_ids = [row["invoice_id"] for row in rows]
        extra = SQL("").join(
            SQL(", %s = CASE WHEN inv.id = ANY(%s) THEN %s ELSE %s END",
                SQL.identifier(column), ids, value, SQL.identifier("inv", column))
            for column, (value, ids) in (invoice_values or {}).items())
        self.env.execute_query(SQL(
            """UPDATE account_move inv
                  SET amount_residual = r.residual_currency, amount_residual_signed = r.residual,
                      payment_state = 'not_paid', write_uid = %(uid)s, write_date = %(now)s
                      %(extra)s
                 FROM (SELECT aml.move_id, SUM(aml.amount_residual) AS residual,
                              SUM(aml.amount_residual_currency) AS residual_currency
                         FROM account_move_line aml
                         JOIN (SELECT DISTINCT unnest(%(invoices)s::int[]) AS invoice_id) f
                              ON f.invoice_id = aml.move_id
                        WHERE aml.display_type = 'payment_term'
                        GROUP BY aml.move_id) r
                WHERE inv.id = r.move_id""", uid=uid, now=now, extra=extra,
            invoices=invoice_ids))
        lines = self.env["account.move.line"].browse(row[0] for row in line_rows)
        invoices = self.env["account.move"].browse(invoice_ids)
        self._invalidate_reconciliation(lines + lines.browse(kept), invoices)
        # The entries' stored fields do not depend on their credits' residual (their
        # totals count their debits only, their payment state is always 'not_paid').
        self._check_reconciliation(moves, lines, invoices)
        invoices.modified(["amount_residual", "amount_residual_signed", "payment_state"])
        _keep_written(invoices, "_compute_amount", "_compute_payment_state")
        return lines

    @api.model
    def _invalidate_reconciliation(self, lines, invoices):
        """Forget what SQL changed; keep the rest of the cache."""
        self.env["account.partial.reconcile"].invalidate_model()
        self.env["account.full.reconcile"].invalidate_model()
        lines.invalidate_recordset([
            "amount_residual", "amount_residual_currency", "reconciled", "full_reconcile_id",
            "matching_number", "matched_debit_ids", "matched_credit_ids"])
        invoices.invalidate_recordset(["amount_residual", "amount_residual_signed",
                                       "payment_state"])

    @api.model
    def _insert_partials(self, debit_ids, credit_ids, full_ids, residual=True):
        """One partial per (debit, credit, full reconcile) of the debit's amount: its
        open residual, or (``residual=False``) its whole balance."""
        stamp = SQL("%s, %s, %s, %s", self.env.uid, self.env.cr.now(), self.env.uid,
                    self.env.cr.now())
        amounts = (SQL("d.amount_residual, d.amount_residual_currency, "
                       "d.amount_residual_currency") if residual else
                   SQL("d.balance, d.amount_currency, d.amount_currency"))
        self.env.execute_query(SQL(
            """INSERT INTO account_partial_reconcile (
                   debit_move_id, credit_move_id, full_reconcile_id, debit_currency_id,
                   credit_currency_id, company_id, amount, debit_amount_currency,
                   credit_amount_currency, max_date, create_uid, create_date, write_uid,
                   write_date)
               SELECT d.id, c.id, p.full_id, d.currency_id, c.currency_id, d.company_id,
                      %(amounts)s, GREATEST(d.date, c.date), %(stamp)s
                 FROM unnest(%(debits)s::int[], %(credits)s::int[], %(fulls)s::int[])
                      AS p(debit_id, credit_id, full_id)
                 JOIN account_move_line d ON d.id = p.debit_id
                 JOIN account_move_line c ON c.id = p.credit_id""",
            stamp=stamp, amounts=amounts, debits=debit_ids, credits=credit_ids,
            fulls=full_ids))

    @api.model
    def _check_reconciliation(self, moves, lines, invoices, payment_state="not_paid"):
        """What the SQL wrote is what Odoo's reconciliation gives, checked in one query:
        ``moves`` balanced; each of ``lines`` with the residual its partials leave and
        reconciled when nothing is left; each of ``invoices`` with the residual of its
        receivables and ``payment_state``; other than 'not_paid' (paid), nothing left.
        Raises (the transaction rolls back) naming what differs."""
        if not lines and not invoices:
            return
        (unbalanced, wrong_lines, wrong_invoices), = self.env.execute_query(SQL("""
            WITH line_ids AS MATERIALIZED (SELECT unnest(%(lines)s::int[]) AS id),
                 invoice_ids AS MATERIALIZED (SELECT unnest(%(invoices)s::int[]) AS id),
            matched AS (
                SELECT debit_move_id AS line_id, amount, debit_amount_currency AS amount_cur
                  FROM account_partial_reconcile JOIN line_ids ON line_ids.id = debit_move_id
                 UNION ALL
                SELECT credit_move_id, -amount, -credit_amount_currency
                  FROM account_partial_reconcile JOIN line_ids ON line_ids.id = credit_move_id
            ), residual AS (
                SELECT move_id, SUM(amount_residual) AS residual
                  FROM account_move_line JOIN invoice_ids i ON i.id = move_id
                 WHERE display_type = 'payment_term'
                 GROUP BY move_id
            )
            SELECT ARRAY(SELECT move_id FROM account_move_line WHERE move_id = ANY(%(moves)s)
                          GROUP BY move_id HAVING ABS(SUM(balance)) >= %(half)s),
                   ARRAY(SELECT l.id FROM account_move_line l
                           JOIN line_ids ON line_ids.id = l.id
                           LEFT JOIN matched m ON m.line_id = l.id
                          GROUP BY l.id
                         HAVING ABS(l.balance - COALESCE(SUM(m.amount), 0)
                                    - l.amount_residual) >= %(half)s
                             OR ABS(l.amount_currency - COALESCE(SUM(m.amount_cur), 0)
                                    - l.amount_residual_currency) >= %(half)s
                             OR l.reconciled != (ABS(l.amount_residual) < %(half)s
                                                 AND ABS(l.amount_residual_currency) < %(half)s)),
                   ARRAY(SELECT inv.name FROM account_move inv
                           JOIN invoice_ids ON invoice_ids.id = inv.id
                           LEFT JOIN residual r ON r.move_id = inv.id
                          WHERE ABS(inv.amount_residual_signed - COALESCE(r.residual, 0))
                                    >= %(half)s
                             OR inv.payment_state != %(state)s
                             OR (%(paid)s AND ABS(inv.amount_residual) >= %(half)s)
                          ORDER BY inv.name)
        """, moves=list(moves.ids), lines=list(lines.ids), invoices=list(invoices.ids),
             half=min(moves.company_id.currency_id.mapped("rounding") or [0.01]) / 2,
             paid=payment_state != "not_paid", state=payment_state))
        if unbalanced or wrong_lines or wrong_invoices:
            names = wrong_invoices or self.env["account.move.line"].browse(
                wrong_lines).move_id.mapped("name") or self.env["account.move"].browse(
                unbalanced).mapped("name")
            raise UserError(_(
                "The direct debit accounting written set-wise differs from what Odoo's "
                "reconciliation gives (%(what)s: %(names)s); nothing was saved. Please "
                "report it to your administrator.",
                what=_("unbalanced entry") if unbalanced else _("residual or payment status"),
                names=", ".join(names[:20])))

    @api.model
    def _reconcile_groups_setwise(self, groups, full_ids):
        """Fully reconcile the lines of each group of ``groups`` (lists of line ids) with
        each other as Odoo's ``reconcile()`` of that group does, in SQL, in the full
        reconcile of ``full_ids`` at the same place (``_new_full_reconciles``); returns
        the lines.

        Each group: posted lines of one account and company, in company currency
        (amount in currency = balance), none zero, balancing to zero, on entries that are
        no invoices (no payment state, no cash basis, no exchange difference), each
        without partial and reconciled here for its whole balance: open, or inserted in
        its full reconcile already, or in another one to be replaced (no partial). Odoo
        sorts such lines by due date (else date), amount in currency and balance, ties
        in the order given (its own: by entry, then id), pairs debits with credits in
        that order, one partial per pair for what both still have open, and makes one
        full reconcile of the group; nothing else. That is written here in one INSERT
        and one UPDATE (of the lines not in their full reconcile yet); the caller checks
        it (``_check_reconciliation``)."""
        Line = self.env["account.move.line"]
        if not groups:
            return Line
        self.env.flush_all()
        all_ids = [line_id for group in groups for line_id in group]
        rows = {row["id"]: row for row in self.env.execute_query_dict(SQL(
            """SELECT id, COALESCE(date_maturity, date) AS due, amount_currency, balance,
                      date, currency_id, company_id, company_currency_id
                 FROM account_move_line WHERE id = ANY(%s)""", all_ids))}
        digits = {currency.id: currency.decimal_places for currency in
                  self.env["res.currency"].browse({row["company_currency_id"]
                                                   for row in rows.values()})}
        partials = []  # (debit, credit, full reconcile, amount in cents)
        for group, full_id in zip(groups, full_ids, strict=True):
            unit = 10 ** digits[rows[group[0]]["company_currency_id"]]
            ordered = sorted(group, key=lambda line_id: (
                rows[line_id]["due"], rows[line_id]["amount_currency"],
                rows[line_id]["balance"]))
            # in cents: the comparisons and subtractions of Odoo's residuals, exact
            debits = iter([[line_id, round(rows[line_id]["balance"] * unit)]
                           for line_id in ordered if rows[line_id]["balance"] > 0])
            credits = iter([[line_id, round(-rows[line_id]["balance"] * unit)]
                            for line_id in ordered if rows[line_id]["balance"] < 0])
            debit, credit = next(debits, None), next(credits, None)
            while debit and credit:
                amount = min(debit[1], credit[1])
                partials.append((debit[0], credit[0], full_id, amount / unit))
                debit[1] -= amount
                credit[1] -= amount
                if not debit[1]:
                    debit = next(debits, None)
                if not credit[1]:
                    credit = next(credits, None)
        uid, now = self.env.uid, self.env.cr.now()
        # the partials' columns from the lines read (a join costs 40,000 lookups)
        self.env.execute_query(SQL(
            """INSERT INTO account_partial_reconcile (
                   debit_move_id, credit_move_id, full_reconcile_id, debit_currency_id,
                   credit_currency_id, company_id, amount, debit_amount_currency,
                   credit_amount_currency, max_date, create_uid, create_date, write_uid,
                   write_date)
               SELECT debit_id, credit_id, full_id, debit_currency_id, credit_currency_id,
                      company_id, amount, amount, amount, max_date, %s, %s, %s, %s
                 FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::int[],
                             %s::int[], %s::numeric[], %s::date[])
                      AS p(debit_id, credit_id, full_id, debit_currency_id,
                           credit_currency_id, company_id, amount, max_date)""",
            uid, now, uid, now,
            *([partial[i] for partial in partials] for i in range(3)),
            [rows[partial[0]]["currency_id"] for partial in partials],
            [rows[partial[1]]["currency_id"] for partial in partials],
            [rows[partial[0]]["company_id"] for partial in partials],
            [partial[3] for partial in partials],
            [max(rows[partial[0]]["date"], rows[partial[1]]["date"]) for partial in partials]))
        self.env.execute_query(SQL(
            """UPDATE account_move_line l
                  SET full_reconcile_id = g.full_id, matching_number = g.full_id::text,
                      amount_residual = 0, amount_residual_currency = 0, reconciled = TRUE,
                      write_uid = %s, write_date = %s
                 FROM unnest(%s::int[], %s::int[]) AS g(line_id, full_id)
                WHERE l.id = g.line_id AND (l.full_reconcile_id IS DISTINCT FROM g.full_id
                                            OR NOT l.reconciled OR l.amount_residual != 0
                                            OR l.amount_residual_currency != 0)""",
            uid, now, all_ids,
            [full_id for group, full_id in zip(groups, full_ids, strict=True)
             for _line in group]))
        lines = Line.browse(all_ids)
        self._invalidate_reconciliation(lines, self.env["account.move"])
        return lines



def _keep_written(records, *methods):
    """Drop the pending recomputation of the stored fields computed by ``methods``."""
    for field in records._fields.values():
        if field.store and field.compute in methods:
            records.env.remove_to_compute(field, records)
