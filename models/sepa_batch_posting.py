"""Posting a direct debit batch: its journal entry, the reconciliation with its invoices,
and the way back (reopening invoices, cancelling the entry).

Two paths give the same rows. Odoo's reconciliation (``_reconcile_plan``) handles every
case; for tens of thousands of plain invoices it is written set-wise in SQL instead
(partials, full reconciles, residuals, payment states: ``sepa.reconcile.setwise``), then
checked in one query. Which path an invoice takes is decided in ONE place:
``_setwise_allowed`` (the batch) and ``_setwise_rows`` (its invoices); the context key
``sepa_posting_orm_only`` forces Odoo's. The stornos' entries: ``sepa.storno.posting``.
"""

from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, formatLang

#: Bulk accounting of a batch: invoices are not re-synchronised (their lines do not
#: change), balance is checked once by the reconciliation, no per-invoice tracking.
BULK_CONTEXT = {"skip_invoice_sync": True, "check_move_validity": False, "mail_notrack": True}
#: Context key of the posting: ``res.partner._increase_rank`` leaves the customer rank to
#: ``_increase_customer_rank`` (one statement for all customers).
BULK_RANK = "sepa_bulk_rank"
#: Context key: never the set-wise path, every invoice through Odoo's reconciliation.
ORM_ONLY = "sepa_posting_orm_only"


class SepaBatchPosting(models.AbstractModel):
    """The accounting of a batch, in the manner of ``account.move.send``: one public
    method per direction (``post``, ``cancel``, ``unreconcile_invoices``) made of small
    overridable steps."""

    _name = "sepa.batch.posting"
    _description = "SEPA Direct Debit Batch Posting"

    # ------------------------------------------------------------------
    # PUBLIC
    # ------------------------------------------------------------------

    @api.model
    def post(self, batch):
        """Post ONE entry for ``batch`` and reconcile every invoice with it; return it.

        The entry debits transit per payment information block and credits each
        invoice's receivable. The set-wise invoices (``_setwise_rows``) get one summary
        credit, posted by the ORM and then split in SQL into one credit per invoice;
        their partials and full reconciles are inserted in SQL, checked, and the ORM
        recomputes what depends on them. The others go through Odoo's
        ``_reconcile_plan`` in one call. The invoices' payment status changes are not
        tracked one chatter message per invoice (that alone took 131 s at commit for
        10,000 invoices).
        """
        batch.ensure_one()
        rows = self._receivable_rows(batch)
        self._check_still_open(batch, rows)
        bulk = self._setwise_rows(batch, rows)
        bulk_ids = {row["batch_line_id"] for row in bulk}
        orm_rows = [row for row in rows if row["batch_line_id"] not in bulk_ids]
        env = batch.with_context(**BULK_CONTEXT).env
        move = env["account.move"].create(
            self._prepare_move_vals(batch, rows, orm_rows, bulk))
        move.with_context(**{BULK_RANK: True})._post(soft=False)
        full_ids = self._split_summary_line(batch, move, bulk)
        self._increase_customer_rank(
            env["res.partner"].browse({row["partner_id"] for row in rows}))
        self._reconcile_entry(move, rows, full_ids)
        return move

    @api.model
    def check_collectable(self, batch):
        """Refuse ``batch`` when one of its invoices has nothing left to collect or
        another open amount than its debit (paid, partly paid or credited since the batch
        was made): before its file is generated, and again when it is posted."""
        batch.ensure_one()
        self._check_still_open(batch, self._receivable_rows(batch))

    @api.model
    def cancel(self, batch):
        """Undo the entry of ``batch``: reopen its invoices, then reverse the entry
        (``cancel=True``: the reversal is reconciled with it).

        Refused when a payment block is reconciled with the bank's credit already. The
        batch must have left the 'sent' state: reversing reconciles the transit lines,
        which the settlement hook must not take for the bank's credit.
        """
        batch.ensure_one()
        self._check_no_storno(batch)
        self._check_no_settled_block(batch)
        move = batch.with_context(mail_notrack=True).move_id
        self.with_context(mail_notrack=True).unreconcile_invoices(batch.line_ids)
        move._reverse_moves(
            [{"ref": _("Cancellation of %(batch)s", batch=batch.name),
              "date": fields.Date.context_today(batch)}],
            cancel=True,
        )
        move.env.flush_all()

    @api.model
    def unreconcile_invoices(self, batch_lines):
        """Reopen the invoices of ``batch_lines`` (a set: a storno file reopens thousands).

        Each invoice is unreconciled from its credit on its batch entry: it is open again
        with its original residual, the credit stays open on the entry. Set-wise in SQL
        (then checked) where the reconciliation is the one the set-wise posting makes;
        the others through Odoo's ``remove_move_reconcile``, which also reverses what
        its reconciliation made (cash basis and exchange difference entries). Returns the
        credit lines.
        """
        return self._unreconcile_credit_rows(batch_lines, self._credit_rows(batch_lines))

    @api.model
    def _unreconcile_credit_rows(self, batch_lines, rows):
        """``unreconcile_invoices`` of ``batch_lines`` whose ``_credit_rows`` are read."""
        allowed = {batch.id: self._setwise_allowed(batch) for batch in batch_lines.batch_id}
        simple = [row for row in rows if row["simple"] and allowed[row["batch_id"]]]
        lines = self.env["account.move.line"]
        credits = lines.browse(row["credit_id"] for row in rows)
        self.env["sepa.reconcile.setwise"]._unreconcile_setwise(
            simple, self.env["sepa.batch"].browse({row["batch_id"] for row in simple}).move_id)
        (credits - lines.browse(row["credit_id"] for row in simple)).remove_move_reconcile()
        return credits

    # ------------------------------------------------------------------
    # THE SWITCH
    # ------------------------------------------------------------------

    @api.model
    def _setwise_allowed(self, batch):
        """Whether ``batch`` may be booked and reopened set-wise (per invoice, see
        ``_setwise_rows`` and ``_credit_rows``).

        Only where Odoo's reconciliation would make nothing but partials and full
        reconciles and posting nothing the SQL would miss: the company is in the batch's
        currency (euro), no analytic distribution model exists (it could give a line an
        analytic distribution), and the bank journal does not secure its entries with a
        hash (the set-wise lines are written after posting). The context key
        ``sepa_posting_orm_only`` turns it off: everything goes through the ORM.
        """
        if self.env.context.get(ORM_ONLY):
            return False
        company = batch.company_id
        return company.currency_id == batch.currency_id \
            and not batch.journal_id.restrict_mode_hash_table \
            and not self.env["account.analytic.distribution.model"].sudo().search_count(
                [("company_id", "in", (False, company.id))], limit=1)

    @api.model
    def _setwise_rows(self, batch, rows):
        """The rows booked set-wise in SQL; the others go through the ORM.

        Where the switch allows it: untouched receivables on one account (the first
        one's), no cash basis taxes, residual = amount sent.
        """
        if not self._setwise_allowed(batch):
            return []
        currency = batch.currency_id
        bulk = [
            row for row in rows
            if row["account_count"] == 1 and row["untouched"] and not row["cash_basis"]
            and currency.compare_amounts(row["residual"], row["amount"]) == 0
        ]
        return [row for row in bulk if row["account_id"] == bulk[0]["account_id"]]

    # ------------------------------------------------------------------
    # POSTING
    # ------------------------------------------------------------------

    @api.model
    def _receivable_rows(self, batch):
        """Per pending batch line, its invoice's open receivable lines, in one query.

        Also says whether the line can be booked set-wise (``untouched``: the
        receivables are in company currency and not matched with anything yet;
        ``cash_basis``: the invoice has cash basis taxes). ``residual`` is in company
        currency, ``residual_currency`` in the invoice's.
        """
        self.env.flush_all()
        return self.env.execute_query_dict(SQL("""
            SELECT bl.id AS batch_line_id, bl.partner_id, bl.amount, bl.pmt_inf_id,
                   bl.end_to_end_id, inv.id AS invoice_id, inv.name AS invoice_name,
                   ARRAY_AGG(aml.id ORDER BY aml.id) FILTER (WHERE aml.id IS NOT NULL)
                       AS receivable_ids,
                   MIN(aml.account_id) AS account_id,
                   COUNT(DISTINCT aml.account_id) AS account_count,
                   COALESCE(SUM(aml.amount_residual), 0) AS residual,
                   COALESCE(SUM(aml.amount_residual_currency), 0) AS residual_currency,
                   BOOL_AND(aml.amount_residual = aml.balance
                            AND aml.amount_residual_currency = aml.amount_currency
                            AND aml.currency_id = aml.company_currency_id) AS untouched,
                   %(cash_basis)s AND EXISTS(SELECT 1
                            FROM account_move_line tl
                            JOIN account_tax tax ON tax.id = tl.tax_line_id
                           WHERE tl.move_id = inv.id AND tax.tax_exigibility = 'on_payment'
                           UNION ALL
                          SELECT 1
                            FROM account_move_line bl2
                            JOIN account_move_line_account_tax_rel rel
                                 ON rel.account_move_line_id = bl2.id
                            JOIN account_tax tax ON tax.id = rel.account_tax_id
                           WHERE bl2.move_id = inv.id AND tax.tax_exigibility = 'on_payment'
                   ) AS cash_basis
              FROM sepa_batch_line bl
              JOIN account_move inv ON inv.id = bl.invoice_id
              LEFT JOIN account_move_line aml
                     ON aml.move_id = inv.id AND NOT aml.reconciled
                    AND aml.account_id IN (SELECT id FROM account_account
                                            WHERE account_type = 'asset_receivable')
             WHERE bl.batch_id = %(batch)s AND bl.state = 'pending'
             GROUP BY bl.id, inv.id
             ORDER BY bl.debit_number, bl.id
        """, batch=batch.id, cash_basis=bool(batch.company_id.tax_exigibility)))

    @api.model
    def _check_still_open(self, batch, rows):
        """Each invoice must still be open for exactly the amount its debit collects."""
        closed = [row["invoice_name"] for row in rows if not row["receivable_ids"]]
        if closed:
            raise UserError(_(
                "Batch %(batch)s cannot be collected: these invoices have nothing left to "
                "collect (paid or reversed meanwhile): %(invoices)s. Cancel the batch and "
                "propose again.", batch=batch.name, invoices=", ".join(closed[:20])))
        currency = batch.currency_id
        changed = [
            self.env._("%(invoice)s (open %(open)s, debit %(debit)s)",
                       invoice=row["invoice_name"],
                       open=formatLang(self.env, row["residual_currency"]),
                       debit=formatLang(self.env, row["amount"]))
            for row in rows
            if currency.compare_amounts(row["residual_currency"], row["amount"]) != 0
        ]
        if changed:
            raise UserError(_(
                "Batch %(batch)s cannot be collected: the open amount of these invoices "
                "changed since the batch was made (partly paid or credited meanwhile), so "
                "the file debits more or less than is due: %(invoices)s. Cancel the batch "
                "and propose again.", batch=batch.name, invoices=", ".join(changed[:20])))

    @api.model
    def _credit_line_vals(self, batch, row):
        """The receivable credit of one batch line (balance from the residual)."""
        return {
            "name": f"{row['end_to_end_id']} {row['invoice_name']}",
            "account_id": row["account_id"],
            "partner_id": row["partner_id"],
            "balance": -row["residual"],
            "amount_currency": -row["amount"],
            "currency_id": batch.currency_id.id,
            "sepa_batch_line_id": row["batch_line_id"],
        }

    @api.model
    def _summary_line_vals(self, batch, bulk):
        """One credit for all ``bulk`` rows, split per invoice once posted."""
        currency = batch.currency_id
        return dict(
            self._credit_line_vals(batch, bulk[0]),
            balance=-currency.round(sum(row["residual"] for row in bulk)),
            amount_currency=-currency.round(sum(row["amount"] for row in bulk)),
        )

    @api.model
    def _split_values(self, batch, row, full_id):
        """Columns of one invoice's credit that differ from the posted summary line.

        The line is matched with its full reconcile already (the invoice side follows
        in ``_reconcile_entry``).
        """
        vals = self._credit_line_vals(batch, row)
        del vals["account_id"], vals["currency_id"]  # the summary line's
        return dict(
            vals,
            debit=0.0,
            credit=-vals["balance"],
            amount_residual=0.0,
            amount_residual_currency=0.0,
            reconciled=True,
            full_reconcile_id=full_id,
            matching_number=str(full_id),
            price_subtotal=vals["amount_currency"],
            price_total=vals["amount_currency"],
        )

    @api.model
    def _prepare_move_vals(self, batch, rows, orm_rows, bulk):
        """ONE entry: debit transit per payment information block, credit each invoice.

        The credits of ``orm_rows`` are in the values, those of ``bulk`` as one summary
        line. Balances come from the invoices' open receivables (company currency),
        amounts in currency are the euros collected.
        """
        transit = batch.company_id._sepa_transit_account(batch.journal_id)
        block_totals = defaultdict(lambda: [0.0, 0.0])
        for row in rows:
            block_totals[row["pmt_inf_id"]][0] += row["residual"]
            block_totals[row["pmt_inf_id"]][1] += row["amount"]
        line_vals = [self._credit_line_vals(batch, row) for row in orm_rows]
        if bulk:
            line_vals.append(self._summary_line_vals(batch, bulk))
        line_vals += [{
            "name": self.env._("Direct debit %(block)s", block=block_id),
            "account_id": transit.id,
            "balance": balance,
            "amount_currency": amount,
            "currency_id": batch.currency_id.id,
        } for block_id, (balance, amount) in sorted(block_totals.items())]
        return {
            "move_type": "entry",
            "journal_id": batch.journal_id.id,
            "date": batch.collection_date,
            "ref": batch.name,
            "sepa_batch_id": batch.id,
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    @api.model
    def _split_summary_line(self, batch, move, bulk):
        """One credit per bulk invoice; returns ``{batch line id: full reconcile id}``."""
        if not bulk:
            return {}
        full_ids = dict(zip([row["batch_line_id"] for row in bulk],
                            self.env["sepa.reconcile.setwise"]._new_full_reconciles(
                                len(bulk)), strict=True))
        summary = move.line_ids.filtered(
            lambda aml: aml.sepa_batch_line_id.id == bulk[0]["batch_line_id"])
        self.env["sepa.reconcile.setwise"]._expand_line(summary, [
            self._split_values(batch, row, full_ids[row["batch_line_id"]]) for row in bulk])
        return full_ids

    @api.model
    def _increase_customer_rank(self, partners):
        """What posting an entry does for its customers, for all of them at once.

        Rows locked by another transaction are skipped, as Odoo does (the rank only
        orders suggestions).
        """
        if not partners:
            return
        partners.flush_model(["commercial_partner_id", "customer_rank"])
        self.env.execute_query(SQL("""
            UPDATE res_partner SET customer_rank = customer_rank + 1
             WHERE id IN (SELECT id FROM res_partner
                           WHERE id = ANY(%(ids)s) OR id IN (
                                 SELECT commercial_partner_id FROM res_partner
                                  WHERE id = ANY(%(ids)s))
                             FOR NO KEY UPDATE SKIP LOCKED)
        """, ids=partners.ids))
        partners.invalidate_model(["customer_rank"])

    @api.model
    def _reconcile_entry(self, move, rows, full_ids):
        """Reconcile the invoices: set-wise those with a full reconcile, else the ORM.

        Odoo's ``_invoice_paid_hook`` runs once per invoice: ``_reconcile_plan`` runs it
        for its own invoices, the post hook below for the set-wise ones only.
        """
        env = move.env
        receivables = {row["batch_line_id"]: row["receivable_ids"] for row in rows}
        credits = env.execute_query(SQL(
            "SELECT id, sepa_batch_line_id FROM account_move_line "
            "WHERE move_id = %s AND sepa_batch_line_id IS NOT NULL", move.id))
        triples = [(credit_id, receivables[line_id], full_ids[line_id])
                   for credit_id, line_id in credits if line_id in full_ids]
        lines = env["account.move.line"]
        plan = [lines.browse([*receivables[line_id], credit_id])
                for credit_id, line_id in credits if line_id not in full_ids]
        setwise_invoices = env["account.move"].browse(
            [row["invoice_id"] for row in rows if row["batch_line_id"] in full_ids])
        in_batch = env["account.move"]._sepa_in_batch_payment_state()
        reconciled = self.env["sepa.reconcile.setwise"]._reconcile_setwise(triples, in_batch)
        self.env["sepa.reconcile.setwise"]._check_reconciliation(
            move, reconciled, setwise_invoices, payment_state=in_batch)
        # Paid or not, an invoice held by this open batch stays 'In batch' (or 'On hold'),
        # see account.move._sepa_state: nothing to recompute for 100,000 invoices.
        env.remove_to_compute(env["account.move"]._fields["sepa_state"], setwise_invoices)
        if plan:
            lines._reconcile_plan(plan)
        env.flush_all()  # recompute the invoices' payment state without tracking
        if reconciled:
            setwise_invoices.fetch(["payment_state"])  # one read, not one per thousand
            reconciled._reconcile_post_hook({"not_paid_invoices": setwise_invoices})
            env.flush_all()

    # ------------------------------------------------------------------
    # CANCEL, REOPENING
    # ------------------------------------------------------------------

    @api.model
    def _check_no_storno(self, batch):
        stornos = self.env["sepa.storno"].search(
            [("batch_id", "=", batch.id), ("state", "=", "done")], limit=20)
        if stornos:
            raise UserError(_(
                "Batch %(batch)s cannot be cancelled: debits of it failed and are "
                "registered as stornos (%(stornos)s). Cancel those stornos first.",
                batch=batch.name, stornos=", ".join(stornos.mapped("name"))))

    @api.model
    def _check_no_settled_block(self, batch):
        """Refuse when a transit line of the batch entry is reconciled (the bank's credit
        of that payment information block): reversing the entry would unreconcile the
        bank's line too."""
        labels = batch._transit_lines().filtered(
            lambda aml: aml.matched_credit_ids or aml.matched_debit_ids).mapped("name")
        if not labels:
            return
        block_ids = set(batch.line_ids.mapped("pmt_inf_id"))
        blocks = [next((token for token in (label or "").split() if token in block_ids), label)
                  for label in labels]
        raise UserError(_(
            "Batch %(batch)s cannot be cancelled: the bank's credit of payment block(s) "
            "%(blocks)s is reconciled with it already. Undo that bank reconciliation first "
            "if the bank did not collect it.", batch=batch.name, blocks=", ".join(blocks)))

    @api.model
    def _credit_rows(self, batch_lines):
        """The credits of ``batch_lines`` on their batch entries, in one query.

        ``simple``: reconciled the way the set-wise posting does it (one full reconcile
        of the credit and the invoice's receivables, in company currency, partials only
        between them, no exchange difference or cash basis entry, no other partial on
        the invoice's receivables), so set-wise reopening gives what Odoo would.
        """
        self.env.flush_all()
        # Joins, not a subquery per line: on tables just filled, PostgreSQL may scan all
        # partials once per line (quadratic).
        return self.env.execute_query_dict(SQL("""
            WITH base AS MATERIALIZED (
                SELECT c.id AS credit_id, bl.id AS batch_line_id, bl.batch_id, bl.invoice_id,
                       c.full_reconcile_id AS full_id,
                       (c.full_reconcile_id IS NOT NULL
                        AND c.currency_id = c.company_currency_id
                        AND inv.move_type = 'out_invoice'
                        AND fr.exchange_move_id IS NULL) AS plain
                  FROM sepa_batch_line bl
                  JOIN sepa_batch b ON b.id = bl.batch_id
                  JOIN account_move_line c
                       ON c.move_id = b.move_id AND c.sepa_batch_line_id = bl.id
                  JOIN account_move inv ON inv.id = bl.invoice_id
                  LEFT JOIN account_full_reconcile fr ON fr.id = c.full_reconcile_id
                 WHERE bl.id = ANY(%s)
            ), not_simple AS (
                SELECT base.credit_id FROM base
                  JOIN account_move_line o ON o.full_reconcile_id = base.full_id
                 WHERE o.id != base.credit_id
                   AND (o.move_id != base.invoice_id OR o.currency_id != o.company_currency_id
                        OR o.display_type IS DISTINCT FROM 'payment_term')
                 UNION
                SELECT base.credit_id FROM base
                  JOIN account_partial_reconcile p ON p.full_reconcile_id = base.full_id
                 WHERE p.credit_move_id != base.credit_id OR p.exchange_move_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM account_move cb WHERE cb.tax_cash_basis_rec_id = p.id)
                 UNION
                SELECT base.credit_id FROM base
                  JOIN account_move_line r ON r.move_id = base.invoice_id
                  JOIN account_partial_reconcile p ON p.debit_move_id = r.id
                 WHERE p.full_reconcile_id IS DISTINCT FROM base.full_id
            )
            SELECT base.credit_id, base.batch_line_id, base.batch_id, base.invoice_id,
                   base.full_id, base.plain AND n.credit_id IS NULL AS simple
              FROM base LEFT JOIN not_simple n ON n.credit_id = base.credit_id
             ORDER BY base.credit_id""", list(batch_lines.ids)))
