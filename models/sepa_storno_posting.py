"""Booking stornos (failed debits) and cancelling them: the storno entry, its charges
and counterparts, and its reconciliation with the batch entry.

One entry per bank journal and booking date (``book_stornos``), posted with one line per
account and side and split in SQL where the batch's ``_setwise_allowed``
(``sepa.batch.posting``), else through Odoo; the set-wise reconciliation is
``sepa.reconcile.setwise``.
"""

from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..sepa.matching import mentions as _mentions
from .sepa_reconcile_setwise import _keep_written

#: Keys of a storno entry's receivable debit values (never given to the ORM): the id of
#: the batch credit it reverses, the full reconcile it is inserted with.
CREDIT_KEY = "_sepa_batch_credit_id"
FULL_KEY = "_sepa_full_reconcile_id"


class SepaStornoPosting(models.AbstractModel):
    """The accounting of stornos: ``book_stornos`` (registration) and ``cancel_stornos``
    (the way back), made of small overridable steps."""

    _name = "sepa.storno.posting"
    _description = "SEPA Direct Debit Storno Posting"

    @api.model
    def book_stornos(self, stornos):
        """Book failed debits (``stornos``, just created): one entry per bank journal and
        booking date, one reconciliation.

        The invoices are unreconciled from their credit on the batch entry
        (``unreconcile_invoices``, set-wise): open again with their original residual.
        The storno entry debits each invoice's receivable for its credit, reconciled
        with that credit, and credits per storno the transit account (a reject of a
        batch not settled yet, reconciled with its payment block's transit debit: the
        transit residual is what the bank still credits) or the stornos outstanding
        account (after settlement: until the bank's debit is reconciled with it). A bank
        charge debits the charges account against the outstanding account. The batch
        lines fail, and the invoices' direct debit status is Failed.
        """
        if not stornos:
            return
        batch_lines = stornos._batch_lines()
        rows = self.env["sepa.batch.posting"]._credit_rows(batch_lines)
        self._check_no_open_receivable_match(batch_lines, rows)
        # All set-wise: each credit keeps its full reconcile (and reconciled state), which
        # its storno debit joins: only the invoices' side is reopened here.
        # the batches from the rows read: ``stornos.batch_id`` maps 50,000 records
        batches = self.env["sepa.batch"].browse({row["batch_id"] for row in rows})
        setwise = all(self.env["sepa.batch.posting"]._setwise_allowed(batch) for batch in batches)
        kept, failed = {}, []
        if setwise and all(row["simple"] for row in rows):
            kept = {row["credit_id"]: row["full_id"] for row in rows}
            # their direct debit status "Failed" written by the UPDATE that reopens them
            failed = self._failing_invoice_ids(rows)
            self.with_context(mail_notrack=True).env[
                "sepa.reconcile.setwise"]._unreconcile_setwise(
                rows, batches.move_id, keep_credits=True,
                invoice_values={"sepa_state": ("failed", failed)})
        else:
            self.with_context(mail_notrack=True).env[
                "sepa.batch.posting"]._unreconcile_credit_rows(batch_lines, rows)
        self._fail_batch_lines(batch_lines, failed)
        del rows, failed  # done with: not kept while the entry is built (50,000 rows)
        info = self._storno_rows(stornos, batch_lines)
        groups = defaultdict(list)
        for storno_id, row in info.items():
            groups[(row["journal_id"], row["booking_date"])].append(storno_id)
        plan, transit_plan = [], defaultdict(list)
        env = self.with_context(mail_notrack=True, skip_invoice_sync=True).env
        reconciled, moves = [], batches.move_id
        for (journal_id, date), ids in groups.items():
            group = stornos.browse(ids)
            journal = self.env["account.journal"].browse(journal_id)
            vals = self._storno_move_vals(journal, date, group, info)
            draft = self._storno_draft_entry(group, info)
            if all(self.env["sepa.batch.posting"]._setwise_allowed(batch)
                   for batch in batches.browse(
                       {info[storno_id]["batch_id"] for storno_id in ids})):
                reconciled += self._storno_full_reconciles(vals, kept)
                move = self._create_summarised(env, vals, draft)
                self._storno_plan(move, group, info, [], transit_plan)
            else:
                for command in vals["line_ids"]:
                    command[2].pop(CREDIT_KEY, None)
                move = self._create_entry(env, vals, draft)
                move._post(soft=False)
                self._storno_plan(move, group, info, plan, transit_plan)
            if move != draft:
                self._set_storno_move(group, move)
            moves |= move
        self._reconcile_storno_debits(reconciled, moves, kept)
        transit_groups = list(transit_plan.values())
        if setwise:
            transit_groups = self.env["sepa.reconcile.setwise"]._reconcile_partial_setwise(
                transit_groups, moves)
        lines = self.env["account.move.line"]
        lines._reconcile_plan(plan + [lines.browse(ids) for ids in transit_groups])
        self.env.flush_all()

    @api.model
    def _storno_draft_entries(self, vals_list, journal_ids):
        """Give the stornos about to be inserted (``vals_list``, ``journal_ids``: the bank
        journal of each) their entry: one draft entry per bank journal and booking date,
        which ``book_stornos`` fills and posts. Set at insertion, not after: an UPDATE
        of every storno costs about 7 s for 50,000."""
        keys = [(journal_id, vals["booking_date"])
                for vals, journal_id in zip(vals_list, journal_ids, strict=True)]
        unique = list(dict.fromkeys(keys))
        moves = self.env["account.move"].with_context(
            mail_notrack=True, skip_invoice_sync=True).create([
                {"move_type": "entry", "journal_id": journal_id, "date": date}
                for journal_id, date in unique])
        move_of = dict(zip(unique, moves.ids, strict=True))
        for vals, key in zip(vals_list, keys, strict=True):
            vals["move_id"] = move_of[key]

    @api.model
    def _failing_invoice_ids(self, rows):
        """The invoices of ``rows`` (``_credit_rows`` of the failing debits) whose direct
        debit status becomes "Failed" (``account.move._sepa_state``: a posted customer
        invoice, not on hold, whose failing line is its last and no other line is open),
        in one query."""
        # each invoice has one line in the failing debits (its last, and open when
        # its batch is not settled): "Failed" unless another line is open or later
        return self.env["sepa.batch.posting"]._open_invoice_ids(rows, SQL(
            """NOT EXISTS (SELECT 1 FROM sepa_batch_line o
                            WHERE o.invoice_id = inv.id AND o.id != r.line_id
                              AND (o.is_open OR o.id > r.line_id))"""))

    @api.model
    def _fail_batch_lines(self, batch_lines, failed):
        """The failed debits' batch lines are failed and closed, in one UPDATE (the ORM
        writes them a hundred at a time). ``failed``: ids of invoices whose direct debit
        status the reopening wrote already ("Failed"): not computed again; the
        ORM computes the others' (on hold, ...). No flush of the rest before: it would
        compute the status of every invoice the caller reopened."""
        batch_lines.flush_recordset(["state", "is_open"])
        self.env.execute_query(SQL(
            """UPDATE sepa_batch_line SET state = 'failed', is_open = FALSE, write_uid = %s,
                      write_date = %s WHERE id = ANY(%s)""",
            self.env.uid, self.env.cr.now(), batch_lines.ids))
        batch_lines.invalidate_recordset(["state", "is_open", "write_uid", "write_date"])
        # what the dependencies go through, not every field of every line (prefetch)
        batch_lines.fetch(["invoice_id", "batch_id", "mandate_id"])
        batch_lines.modified(["state", "is_open"])
        invoices = self.env["account.move"].browse(failed)
        _keep_written(invoices, "_compute_sepa_state")
        invoices.invalidate_recordset(["sepa_state"], flush=False)

    @api.model
    def _storno_draft_entry(self, stornos, info):
        """The empty draft entry ``_storno_draft_entries`` gave all of ``stornos``, or an
        empty recordset (then a new entry is made). ``info``: ``_storno_rows``."""
        draft = self.env["account.move"].browse(
            {info[storno_id]["move_id"] for storno_id in stornos.ids} - {None})
        if len(draft) == 1 and draft.state == "draft" and not draft.line_ids:
            return draft
        return self.env["account.move"]

    @api.model
    def _create_entry(self, env, vals, draft):
        """``account.move.create(vals)``, or the lines and values of ``vals`` written on
        the empty ``draft`` entry."""
        if not draft:
            return env["account.move"].create(vals)
        draft.with_env(env).write({key: value for key, value in vals.items()
                                   if key != "move_type"})
        return draft

    @api.model
    def _set_storno_move(self, stornos, move):
        """``stornos.write({"move_id": move.id})`` in one UPDATE: the ORM's company check
        costs about 4 ms a storno (the entry is in the journal of their batch, of their
        company)."""
        self.env.execute_query(SQL(
            """UPDATE sepa_storno SET move_id = %s, write_uid = %s, write_date = %s
                WHERE id = ANY(%s)""", move.id, self.env.uid, self.env.cr.now(), stornos.ids))
        stornos.invalidate_recordset(["move_id", "write_uid", "write_date"])
        stornos.modified(["move_id"])

    @api.model
    def _create_summarised(self, env, vals, draft=None):
        """Post the entry of ``vals`` with one line per account and side, then split each
        into the lines of ``vals`` in SQL (``_expand_line``): the ORM costs about 18 ms
        a line here (analytics, constraints), 37 s for 1,000 stornos. Only where
        ``_setwise_allowed``: company currency, no analytic model, no hashed journal."""
        rows = [command[2] for command in vals["line_ids"]]
        groups = defaultdict(list)
        for row in rows:
            groups[(row["account_id"], row["balance"] > 0)].append(row)
        # the entry's company's currency, not the user's current company's
        currency = env["account.journal"].browse(vals["journal_id"]).company_id.currency_id
        summary = [dict(group[0], balance=currency.round(sum(r["balance"] for r in group)),
                        amount_currency=currency.round(
                            sum(r["amount_currency"] for r in group)))
                   for group in groups.values()]
        for row in summary:
            row.pop(CREDIT_KEY, None)
            row.pop(FULL_KEY, None)
        move = self._create_entry(
            env, dict(vals, line_ids=[Command.create(row) for row in summary]),
            draft or env["account.move"])
        move._post(soft=False)
        for line in move.line_ids:
            group = groups[(line.account_id.id, line.balance > 0)]
            vary_price = bool(line.price_subtotal)
            reconcilable = bool(line.amount_residual)
            self.env["sepa.reconcile.setwise"]._expand_line(
                line, (self._expanded_values(row, vary_price, reconcilable) for row in group))
        return move

    @api.model
    def _expanded_values(self, row, vary_price, reconcilable):
        balance, amount = row["balance"], row["amount_currency"]
        values = {
            "name": row["name"], "partner_id": row["partner_id"], "balance": balance,
            "debit": max(balance, 0.0), "credit": max(-balance, 0.0),
            "amount_currency": amount,
            "amount_residual": balance if reconcilable else 0.0,
            "amount_residual_currency": amount if reconcilable else 0.0,
            "sepa_storno_id": row["sepa_storno_id"],
            # a receivable debit of a storno is inserted reconciled with its batch
            # credit already (``_reconcile_storno_debits`` writes the rest)
            "full_reconcile_id": row.get(FULL_KEY),
            "matching_number": str(row[FULL_KEY]) if row.get(FULL_KEY) else None,
            "reconciled": bool(row.get(FULL_KEY)),
        }
        if row.get(FULL_KEY):
            values.update(amount_residual=0.0, amount_residual_currency=0.0)
        if vary_price:
            values.update(price_subtotal=amount, price_total=amount)
        return values

    @api.model
    def _storno_full_reconciles(self, vals, kept):
        """A full reconcile for each receivable debit of the storno entry ``vals`` (the
        lines holding their batch credit's id, ``CREDIT_KEY``), kept in the line
        (``FULL_KEY``): the debit is inserted reconciled. The credit's own when in
        ``kept`` (``{credit id: its full reconcile id}``), else a new one. Returns
        ``[(credit id, full reconcile id), ...]``."""
        rows = [command[2] for command in vals["line_ids"] if CREDIT_KEY in command[2]]
        if not rows:
            return []
        new = iter(self.env["sepa.reconcile.setwise"]._new_full_reconciles(
            len([row for row in rows if row[CREDIT_KEY] not in kept])))
        for row in rows:
            row[FULL_KEY] = kept.get(row[CREDIT_KEY]) or next(new)
        return [(row.pop(CREDIT_KEY), row[FULL_KEY]) for row in rows]

    @api.model
    def _reconcile_storno_debits(self, reconciled, moves, kept):
        """Fully reconcile each open batch credit with the storno debit inserted with its
        full reconcile (``_storno_full_reconciles``), in SQL: one partial per pair and the
        credit reconciled, as Odoo's reconciliation of two opposite lines in company
        currency on entries gives; checked in one query. ``reconciled``: ``[(credit id,
        full reconcile id), ...]``; ``kept``: the credits still reconciled with their full
        reconcile (``_unreconcile_setwise`` with ``keep_credits``), not written again."""
        if not reconciled:
            return
        self.env.flush_all()
        credit_ids = [credit_id for credit_id, _full in reconciled]
        full_ids = [full_id for _credit, full_id in reconciled]
        debit_of = dict(self.env.execute_query(SQL(
            """SELECT full_reconcile_id, id FROM account_move_line
                WHERE full_reconcile_id = ANY(%s) AND move_id = ANY(%s)
                  AND id != ALL(%s)""", full_ids, moves.ids, credit_ids)))
        debit_ids = [debit_of.get(full_id) for full_id in full_ids]
        self.env["sepa.reconcile.setwise"]._insert_partials(
            debit_ids, credit_ids, full_ids, residual=False)
        self.env.execute_query(SQL(
            """UPDATE account_move_line l
                  SET full_reconcile_id = p.full_id, matching_number = p.full_id::text,
                      amount_residual = 0, amount_residual_currency = 0, reconciled = TRUE,
                      write_uid = %s, write_date = %s
                 FROM unnest(%s::int[], %s::int[]) AS p(line_id, full_id)
                WHERE l.id = p.line_id""", self.env.uid, self.env.cr.now(),
            [credit_id for credit_id in credit_ids if credit_id not in kept],
            [full_id for credit_id, full_id in reconciled if credit_id not in kept]))
        lines = self.env["account.move.line"].browse(
            credit_ids + [debit_id for debit_id in debit_ids if debit_id])
        self.env["sepa.reconcile.setwise"]._invalidate_reconciliation(
            lines, self.env["account.move"])
        if None in debit_ids:
            raise UserError(_("A storno debit is missing on its entry; nothing was saved. "
                              "Please report it to your administrator."))
        self.env["sepa.reconcile.setwise"]._check_reconciliation(
            moves, lines, self.env["account.move"])

    @api.model
    def _check_no_open_receivable_match(self, batch_lines, rows=None):
        """The credits of ``batch_lines`` must be reconciled with their invoices only
        (``rows``: their ``_credit_rows`` when read already)."""
        rows = self.env["sepa.batch.posting"]._credit_rows(batch_lines) if rows is None else rows
        if len(rows) != len(batch_lines):
            raise UserError(_("Some of these debits have no credit on their batch entry; "
                              "their batch was not posted."))

    @api.model
    def _storno_rows(self, stornos, batch_lines):
        """``{storno id: its values}`` in two queries (the ORM costs about 1 ms a storno
        here), in the order of ``stornos``; ``lines``: each of ``batch_lines`` of its debit
        (by id) with its invoice's name and its credit on the batch entry. Looked up in
        Python, not in a join of the batch lines with themselves (on a table just filled,
        PostgreSQL may join them by batch: quadratic)."""
        self.env.flush_all()
        lines = defaultdict(list)
        for line in self.env.execute_query_dict(SQL("""
            SELECT o.id, o.batch_id, o.end_to_end_id, inv.name AS invoice_name,
                   c.id AS credit_id, c.account_id, c.partner_id, c.balance,
                   c.amount_currency, c.currency_id
              FROM sepa_batch_line o
              JOIN sepa_batch b ON b.id = o.batch_id
              JOIN account_move inv ON inv.id = o.invoice_id
              JOIN account_move_line c ON c.move_id = b.move_id AND c.sepa_batch_line_id = o.id
             WHERE o.id = ANY(%s)
             ORDER BY o.id""", batch_lines.ids)):
            lines[(line["batch_id"], line["end_to_end_id"])].append(line)
        rows = self.env.execute_query_dict(SQL("""
            SELECT s.id, l.batch_id, b.journal_id, s.booking_date, b.state AS batch_state,
                   s.move_id, b.name AS batch_name,
                   l.end_to_end_id AS debit_id, s.end_to_end_id, s.reason_code, s.kind,
                   s.partner_id, s.currency_id, s.charge_amount, s.company_id, l.pmt_inf_id,
                   s.statement_line_id
              FROM sepa_storno s
              JOIN sepa_batch_line l ON l.id = s.batch_line_id
              JOIN sepa_batch b ON b.id = l.batch_id
             WHERE s.id = ANY(%s)""", stornos.ids))
        by_id = {}
        for row in rows:  # in place: a copy of 50,000 rows costs tens of megabytes
            row["lines"] = lines[(row["batch_id"], row["debit_id"])]
            by_id[row["id"]] = row
        return {storno_id: by_id[storno_id] for storno_id in stornos.ids}

    @api.model
    def _storno_counterpart(self, storno, journal):
        """Transit for a reject of a batch not yet settled, else the stornos
        outstanding account; for a storno a user reconciled by hand with a bank debit,
        the account the user booked the bank debit on (context key
        ``sepa_storno_counterparts``: ``{statement line id: account id}``)."""
        company = storno.company_id
        chosen = self._storno_chosen_account(storno)
        if chosen:
            return chosen
        if storno.kind == "reject" and storno.batch_id.state == "sent":
            return company._sepa_transit_account(journal)
        return company._sepa_storno_account(journal)

    @api.model
    def _storno_chosen_account(self, storno):
        """The account a user booked the bank's debit of ``storno`` on, when reconciled
        by hand (``sepa_storno_counterparts``), else an empty recordset."""
        chosen = self.env.context.get("sepa_storno_counterparts", {}).get(
            storno.statement_line_id.id)
        return self.env["account.account"].browse(chosen or [])

    @api.model
    def _storno_move_vals(self, journal, date, stornos, info):
        """One entry: per invoice its receivable debit, per storno its counterpart credit
        (and its bank charge). ``info``: ``_storno_rows``."""
        line_vals = []
        counterparts, currencies = {}, {}
        invoice_label = self.env._("Storno %(debit)s %(invoice)s")
        storno_label = self.env._("Storno %(debit)s")
        for storno_id in stornos.ids:
            row = info[storno_id]
            label = f"{row['end_to_end_id']} {row['reason_code']}"
            total, total_currency = 0.0, 0.0
            for line in row["lines"]:
                total -= line["balance"]
                total_currency -= line["amount_currency"]
                line_vals.append({
                    CREDIT_KEY: line["credit_id"],
                    "name": invoice_label % {"debit": label, "invoice": line["invoice_name"]},
                    "account_id": line["account_id"],
                    "partner_id": line["partner_id"],
                    "balance": -line["balance"],
                    "amount_currency": -line["amount_currency"],
                    "currency_id": line["currency_id"],
                    "sepa_storno_id": storno_id,
                })
            key = (row["company_id"], row["kind"] == "reject" and row["batch_state"],
                   row["statement_line_id"])
            if key not in counterparts:
                counterparts[key] = self._storno_counterpart(stornos.browse(storno_id), journal)
            counterpart = counterparts[key]
            line_vals.append({
                "name": storno_label % {"debit": label},
                "account_id": counterpart.id,
                "partner_id": row["partner_id"],
                "balance": -total,
                "amount_currency": -total_currency,
                "currency_id": row["currency_id"],
                "sepa_storno_id": storno_id,
            })
            if row["currency_id"] not in currencies:
                currencies[row["currency_id"]] = self.env["res.currency"].browse(
                    row["currency_id"])
            if row["charge_amount"] and currencies[row["currency_id"]].compare_amounts(
                    row["charge_amount"], 0) > 0:
                line_vals += self._storno_charge_vals(stornos.browse(storno_id), journal, label)
        return {
            "move_type": "entry",
            "journal_id": journal.id,
            "date": date,
            "ref": self.env._("Stornos of %(batches)s", batches=", ".join(sorted(
                {info[storno_id]["batch_name"] for storno_id in stornos.ids}))),
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    @api.model
    def _storno_charge_vals(self, storno, journal, label):
        """The bank charge: charges account against the outstanding account (or the
        account the user booked the bank's debit on, reconciled by hand)."""
        company = storno.company_id
        if not company.sepa_storno_charge_account_id:
            raise UserError(_(
                "Set a 'Storno Charges Account' for %(company)s in Accounting settings "
                "(Direct Debit): storno %(storno)s has a bank charge.",
                company=company.name, storno=storno.name))
        name = self.env._("Bank charge storno %(debit)s", debit=label)
        common = {"name": name, "partner_id": storno.partner_id.id,
                  "currency_id": storno.currency_id.id, "sepa_storno_id": storno.id}
        charge = storno.charge_amount
        # in the company's currency at the entry's date, as Odoo converts
        balance = storno.currency_id._convert(
            charge, company.currency_id, company, storno.booking_date or storno.date)
        return [
            dict(common, account_id=company.sepa_storno_charge_account_id.id, balance=balance,
                 amount_currency=charge),
            dict(common, account_id=(self._storno_chosen_account(storno)
                                     or company._sepa_storno_account(journal)).id,
                 balance=-balance, amount_currency=-charge),
        ]

    @api.model
    def _storno_plan(self, move, stornos, info, plan, transit_plan):
        """What to reconcile: each batch credit with its storno debit (``plan``), the
        transit credit of each reject with its block's transit debit (``transit_plan``,
        one group per block: partials, the rest stays open for the bank's credit).

        The entry's lines are read in one query and looked up per storno (in the order
        of ``move.line_ids``: by id); ``info``: ``_storno_rows``."""
        Line = self.with_context(mail_notrack=True).env["account.move.line"]
        Line.flush_model(["move_id", "sepa_storno_id", "account_id", "balance", "name"])
        by_storno = defaultdict(list)
        for aml in self.env.execute_query(SQL(
                """SELECT id, sepa_storno_id, account_id, balance, name FROM account_move_line
                    WHERE move_id = %s ORDER BY id""", move.id)):
            by_storno[aml[1]].append(aml)
        transit_of = {}  # (batch, payment block): its transit line
        storno_label = self.env._("Storno %(debit)s")
        for storno_id in stornos.ids:
            row, amls = info[storno_id], by_storno[storno_id]
            for line in row["lines"]:
                debit = [aml_id for aml_id, _storno, account, balance, label in amls
                         if account == line["account_id"] and balance > 0
                         and line["invoice_name"] in (label or "")]
                plan.append(Line.browse([line["credit_id"], *debit[:1]]))
            if row["kind"] == "reject" and row["batch_state"] == "sent":
                block = (row["batch_id"], row["pmt_inf_id"])
                if block not in transit_of:
                    transit_of[block] = self.env["sepa.batch"].browse(
                        row["batch_id"])._transit_lines().filtered(
                        lambda aml, b=block[1]: _mentions(aml.name, b))[:1]
                transit = transit_of[block]
                if not transit:
                    raise UserError(_("The transit line of debit %(debit)s is missing on "
                                      "the entry of batch %(batch)s.",
                                      debit=row["end_to_end_id"],
                                      batch=self.env["sepa.batch"].browse(
                                          row["batch_id"]).name))
                key = transit.id
                transit_plan[key] = transit_plan[key] or [key]
                name = storno_label % {"debit": f"{row['end_to_end_id']} {row['reason_code']}"}
                transit_plan[key] += [
                    aml_id for aml_id, _storno, account, balance, label in amls
                    if account == transit.account_id.id and balance < 0 and label == name]

    @api.model
    def cancel_stornos(self, stornos):
        """Undo ``stornos``: their lines are unreconciled and reversed by one entry, the
        batch lines are pending (or collected) again and the invoices reconciled with
        their batch credit again, as before the storno (one partial per receivable, a
        full reconcile). Refused when an invoice was collected or paid since, or the
        bank's side is reconciled already (the reduced credit of a settled batch, the
        bank's debit of a return)."""
        self._check_cancellable(stornos)
        amls = self.env["account.move.line"].search(
            [("sepa_storno_id", "in", stornos.ids), ("move_id", "in", stornos.move_id.ids)])
        amls.remove_move_reconcile()
        # A batch whose every open debit was rejected was settled by its stornos alone:
        # sent again, its transit is open again.
        stornos.batch_id.filtered(lambda batch: batch.state == "done" and not all(
            batch._transit_lines().mapped("reconciled"))).write(
            {"state": "sent", "settled_date": False})
        reversals = self._reverse_storno_lines(stornos, amls)
        batch_lines = stornos._batch_lines()
        for state, sent in (("pending", True), ("collected", False)):
            lines = batch_lines.filtered(lambda line, s=sent: (line.batch_id.state == "sent") == s)
            lines.write({"state": state, "is_open": sent})
        credits = self.env["account.move.line"].search(
            [("sepa_batch_line_id", "in", batch_lines.ids),
             ("move_id", "in", batch_lines.batch_id.move_id.ids)])
        plan = []
        for credit in credits:
            receivables = credit.sepa_batch_line_id.invoice_id.line_ids.filtered(
                lambda aml: aml.account_id.account_type == "asset_receivable"
                and not aml.reconciled)
            plan.append(credit | receivables)
        self.env["account.move.line"]._reconcile_plan(plan)
        settled = batch_lines.filtered(lambda line: line.state == "collected").invoice_id
        settled._sepa_settle_payment_state()
        by_reversal = defaultdict(lambda: self.env["sepa.storno"])
        reversal_of = {reversal.journal_id: reversal for reversal in reversals}
        for storno in stornos:
            by_reversal[reversal_of.get(storno.move_id.journal_id)] |= storno
        for reversal, group in by_reversal.items():
            group.write({"state": "cancelled", "cancel_move_id": reversal and reversal.id})
        self.env.flush_all()

    @api.model
    def _check_cancellable(self, stornos):
        problems = []
        batch_lines = stornos._batch_lines()
        for storno in stornos:
            # its counterpart credits (the invoices' receivables are debits; a storno
            # reconciled by hand may have its counterpart on the receivable)
            amls = storno.move_id.line_ids.filtered(
                lambda aml, s=storno: aml.sepa_storno_id == s and aml.balance < 0)
            transit = amls.matched_debit_ids.debit_move_id.filtered(
                lambda aml, s=storno: aml.move_id == s.batch_id.move_id)
            if transit:
                if (transit.matched_credit_ids.credit_move_id - transit).filtered(
                        lambda aml: not aml.sepa_storno_id):
                    problems.append(_("%(storno)s: the bank's reduced credit of its payment "
                                      "block is reconciled already", storno=storno.name))
            elif any(aml.matched_debit_ids for aml in amls):
                    problems.append(_("%(storno)s: the bank's debit is reconciled with it; "
                                      "undo that reconciliation first", storno=storno.name))
        again = self.env["sepa.batch.line"].search([
            ("invoice_id", "in", batch_lines.invoice_id.ids), ("is_open", "=", True)])
        problems += [_("%(invoice)s: collected again in batch %(batch)s",
                       invoice=line.invoice_id.name, batch=line.batch_id.name) for line in again]
        for line in batch_lines:
            invoice = line.invoice_id
            if invoice.currency_id.compare_amounts(invoice.amount_residual, line.amount) != 0:
                problems.append(_("%(invoice)s: paid or changed since the storno",
                                  invoice=invoice.name))
        if problems:
            raise UserError(_("These stornos cannot be cancelled:\n%(list)s",
                              list="\n".join(problems[:20])))

    @api.model
    def _reverse_storno_lines(self, stornos, amls):
        """One entry per bank journal with the opposite of its ``amls`` (the stornos'
        entries of that journal), each line reconciled with its original; returns them."""
        by_journal = defaultdict(lambda: self.env["account.move.line"])
        for aml in amls:
            by_journal[aml.journal_id] |= aml
        moves = self.env["account.move"].with_context(mail_notrack=True).create([{
            "move_type": "entry",
            "journal_id": journal.id,
            "date": fields.Date.context_today(self),
            "ref": self.env._("Cancellation of stornos %(stornos)s",
                              stornos=", ".join(lines.sepa_storno_id.mapped("name")[:20])),
            "line_ids": [Command.create({
                "name": aml.name, "account_id": aml.account_id.id,
                "partner_id": aml.partner_id.id, "balance": -aml.balance,
                "amount_currency": -aml.amount_currency, "currency_id": aml.currency_id.id,
                "sepa_storno_id": aml.sepa_storno_id.id,
            }) for aml in lines],
        } for journal, lines in by_journal.items()])
        moves._post(soft=False)
        plan = [aml | reverse
                for lines, move in zip(by_journal.values(), moves, strict=True)
                for aml, reverse in zip(lines, move.line_ids, strict=True)
                if aml.account_id.reconcile or aml.account_id.account_type in (
                    "asset_receivable", "liability_payable")]
        self.env["account.move.line"]._reconcile_plan(plan)
        return moves
