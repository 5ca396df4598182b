from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount, format_date

from ..constants import SEPA_GROUP
from ..sepa.notice import mask_iban, planned_collection_date
from .sepa_batch_posting import REVERSE_SETWISE


class AccountMove(models.Model):
    _inherit = "account.move"

    sepa_oneoff_mandate_ids = fields.One2many(
        "sepa.mandate",
        "invoice_id",
        string="One-off Mandates",
        groups=SEPA_GROUP,
        help="One-off direct debit mandates given for this invoice.",
    )
    sepa_mandate_id = fields.Many2one(
        "sepa.mandate",
        string="Direct Debit Mandate",
        compute="_compute_sepa_mandate_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        copy=False,
        check_company=True,
        domain="[('partner_id', '=', commercial_partner_id), "
        "('state', 'in', ('draft', 'active'))]",
        help="Mandate this invoice is collected under: the customer's active recurring "
        "mandate, or the invoice's own one-off mandate for customers with one mandate per "
        "invoice. Editable while the invoice is open.",
    )
    sepa_hold = fields.Boolean(
        string="Direct Debit on Hold", copy=False, tracking=True,
        help="The invoice is not proposed for collection until released.")
    sepa_hold_reason = fields.Char(
        string="Hold Reason", copy=False, help="Why collection of this invoice is on hold.")
    sepa_batch_line_ids = fields.One2many(
        "sepa.batch.line", "invoice_id", string="Direct Debits", groups=SEPA_GROUP,
        help="Batch lines that collected or tried to collect this invoice.")
    sepa_storno_ids = fields.Many2many(
        "sepa.storno", "sepa_storno_invoice_rel", "invoice_id", "storno_id",
        string="Failed Debits", groups=SEPA_GROUP, copy=False, readonly=True,
        help="Stornos of the debits of this invoice.")
    sepa_batch_id = fields.Many2one(
        "sepa.batch", string="Direct Debit Batch", readonly=True, copy=False,
        index="btree_not_null", help="For a batch entry: the batch it was posted for.")
    sepa_state = fields.Selection(
        [
            ("none", "Not by direct debit"),
            ("to_collect", "To collect"),
            ("in_batch", "In batch"),
            ("collected", "Collected"),
            ("failed", "Failed"),
            ("on_hold", "On hold"),
            ("no_mandate", "No mandate"),
            ("mandate_draft", "Mandate to sign"),
            ("mandate_revoked", "Mandate revoked"),
            ("mandate_expired", "Mandate expired"),
            ("account_invalid", "Account no longer valid"),
            ("not_euro", "Not in euro"),
        ],
        string="Direct Debit Status",
        compute="_compute_sepa_state",
        store=True,
        index="btree_not_null",
        help="Where the invoice stands in the direct debit cycle. \"To collect\": a "
        "proposal of its mandate's scheme takes it; otherwise the status says why not "
        "(no mandate, mandate to sign, revoked or expired, the mandate's account no longer "
        "valid, not in euro).",
    )
    sepa_last_storno_id = fields.Many2one(
        "sepa.storno", string="Failed Debit", compute="_compute_sepa_last_storno_id",
        groups=SEPA_GROUP,
        help="The last registered failed debit of this invoice (why it is failed or on "
        "hold).")
    sepa_storno_hold_note = fields.Char(
        string="Hold Note", compute="_compute_sepa_last_storno_id", groups=SEPA_GROUP,
        help="Why the failed debit of this invoice is held.")
    sepa_invoice_batch_id = fields.Many2one(
        "sepa.batch", string="Last Direct Debit Batch", compute="_compute_sepa_invoice_batch_id",
        groups=SEPA_GROUP,
        help="The last direct debit batch that collected or tried to collect this invoice.")
    sepa_notice_date = fields.Date(
        string="Planned Collection Date", compute="_compute_sepa_notice",
        help="The collection date the invoice announces to the customer (pre-notification): "
        "the due date, or the company's collection day of the month after it, never "
        "earlier than the pre-notification period after the invoice date, on a TARGET2 "
        "business day.")
    sepa_notice_iban = fields.Char(
        string="Debited Account", compute="_compute_sepa_notice",
        help="The customer's account the pre-notification names, masked to its last four "
        "digits.")
    sepa_notice_text = fields.Char(
        string="Pre-notification", compute="_compute_sepa_notice",
        help="The notice of the debit printed on the invoice and written in its e-mail: "
        "amount, collection date, account, mandate reference and creditor identifier. "
        "Empty when the invoice is not collected by direct debit, or the company notifies "
        "by a separate e-mail per debit.")
    sepa_notified_date = fields.Date(
        string="Pre-notified On", copy=False,
        help="The day the pre-notification of this invoice reached the customer: set when "
        "the invoice e-mail carrying it is sent; enter it by hand for an invoice sent by "
        "post. A proposal collects the invoice no earlier than the pre-notification "
        "period after it.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("sepa_state", "amount_residual", "invoice_date", "invoice_date_due",
                 "sepa_mandate_id.name", "sepa_mandate_id.partner_bank_id",
                 "company_id.sepa_notice_method", "company_id.sepa_notice_days",
                 "company_id.sepa_creditor_identifier", "sepa_mandate_id.creditor_id.name",
                 "sepa_mandate_id.creditor_id.identifier",
                 "commercial_partner_id.sepa_notice_days")
    @api.depends_context("lang")
    def _compute_sepa_notice(self):
        rows = self._sepa_notice_rows()
        env = self.env  # env._ knows the language of the report or the e-mail
        for move in self:
            row = rows.get(move.id)
            if not row:
                move.sepa_notice_date = move.sepa_notice_iban = move.sepa_notice_text = False
                continue
            move.sepa_notice_date = row["date"]
            move.sepa_notice_iban = mask_iban(row["iban"])
            values = {
                "amount": format_amount(env, row["amount"], env["res.currency"].browse(
                    row["currency_id"])),
                "account": mask_iban(row["iban"]),
                "date": format_date(env, row["date"], date_format="long"),
                "mandate": row["mandate"], "creditor": row["creditor"],
                "name": row["creditor_name"],
            }
            if row["creditor_name"] and row["creditor_name"] != row["company_name"]:
                # a creditor of another name than the invoice's sender: named
                move.sepa_notice_text = env._(
                    "The amount of %(amount)s will be debited from your account %(account)s "
                    "on or after %(date)s by %(name)s (mandate %(mandate)s, creditor "
                    "identifier %(creditor)s).", **values)
                continue
            move.sepa_notice_text = env._(
                "The amount of %(amount)s will be debited from your account %(account)s on "
                "or after %(date)s (mandate %(mandate)s, creditor identifier %(creditor)s).",
                **values)

    def _sepa_notice_rows(self):
        """``{invoice id: {date, amount, currency_id, iban, mandate, creditor}}`` of the
        invoices of ``self`` that carry a pre-notification: posted customer invoices to
        collect under an active mandate, of a company notifying on the invoice. One
        query for all of them."""
        ids = [id_ for id_ in self._ids if id_]
        if not ids:
            return {}
        self.flush_model(["move_type", "state", "sepa_state", "amount_residual",
                          "invoice_date", "invoice_date_due", "sepa_mandate_id", "company_id",
                          "commercial_partner_id", "currency_id"])
        self.env["sepa.mandate"].flush_model(["state", "name", "partner_bank_id",
                                              "creditor_id"])
        self.env["sepa.creditor"].flush_model(["name", "identifier"])
        self.env["res.partner.bank"].flush_model(["acc_number"])
        self.env["res.partner"].flush_model(["sepa_notice_days"])
        self.env["res.company"].flush_model(["sepa_notice_method", "sepa_notice_days",
                                             "sepa_creditor_identifier"])
        rows = self.env.execute_query_dict(SQL(
            """SELECT m.id, m.invoice_date, COALESCE(m.invoice_date_due, m.invoice_date)
                      AS due_date, m.amount_residual AS amount, m.currency_id, m.company_id,
                      md.name AS mandate, bank.acc_number AS iban,
                      COALESCE(cr.identifier, c.sepa_creditor_identifier) AS creditor,
                      cr.name AS creditor_name, c.name AS company_name,
                      COALESCE(NULLIF(p.sepa_notice_days, 0), c.sepa_notice_days)
                      AS notice_days
                 FROM account_move m
                 JOIN sepa_mandate md ON md.id = m.sepa_mandate_id AND md.state = 'active'
                 JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
                 JOIN res_company c ON c.id = m.company_id
                 JOIN res_partner p ON p.id = m.commercial_partner_id
            LEFT JOIN sepa_creditor cr ON cr.id = md.creditor_id
                WHERE m.id = ANY(%s) AND m.move_type = 'out_invoice' AND m.state = 'posted'
                  AND m.sepa_state = 'to_collect' AND m.amount_residual > 0
                  AND c.sepa_notice_method IN ('invoice', 'both')
                  AND COALESCE(cr.identifier, c.sepa_creditor_identifier) IS NOT NULL""",
            ids))
        companies = self.env["res.company"].browse({row["company_id"] for row in rows})
        days = {company.id: company.sepa_collection_day for company in companies}
        result = {}
        for row in rows:
            not_before = row["invoice_date"] and row["invoice_date"] + timedelta(
                days=row["notice_days"] or 0)
            row["date"] = planned_collection_date(
                row["due_date"], days[row["company_id"]], not_before=not_before or None)
            result[row["id"]] = row
        return result

    @api.depends("partner_id", "move_type", "company_id", "sepa_oneoff_mandate_ids.state",
                 "commercial_partner_id.sepa_mandate_ids.state",
                 "commercial_partner_id.sepa_mandate_per_invoice")
    def _compute_sepa_mandate_id(self):
        invoices = self.filtered(lambda m: m.move_type == "out_invoice")
        (self - invoices).sepa_mandate_id = False
        # Keep the mandate of invoices that are settled or already collected.
        lines = invoices._sepa_batch_line_summary()
        todo = invoices.filtered(lambda m: m.payment_state in ("not_paid", "partial", False)
                                 and not lines[m.id][1])
        if not todo:
            return
        # Active first, then to sign; a revoked or expired one explains why the invoice
        # cannot be collected.
        mandates = self.env["sepa.mandate"].sudo().search([
            ("partner_id", "in", todo.commercial_partner_id.ids),
            ("state", "!=", "closed"),
        ], order="signature_date desc, id desc")
        rank = {"active": 0, "draft": 1}
        recurring, one_off = {}, {}
        for mandate in mandates.sorted(lambda m: rank.get(m.state, 2)):
            if mandate.mandate_type == "recurring":
                recurring.setdefault((mandate.partner_id.id, mandate.company_id.id), mandate)
            elif mandate.invoice_id:
                one_off.setdefault(mandate.invoice_id.id, mandate)
        for move in todo:
            partner = move.commercial_partner_id
            if partner.sudo().sepa_mandate_per_invoice:
                move.sepa_mandate_id = one_off.get(move.id, False)
            else:
                move.sepa_mandate_id = recurring.get((partner.id, move.company_id.id), False)

    @api.depends("move_type", "state", "payment_state", "sepa_mandate_id", "sepa_hold",
                 "currency_id", "sepa_mandate_id.state", "sepa_mandate_id.account_invalid",
                 "commercial_partner_id.sepa_collect",
                 "sepa_batch_line_ids.state", "sepa_batch_line_ids.is_open",
                 "sepa_storno_ids.release_state", "sepa_storno_ids.state")
    def _compute_sepa_state(self):
        # Set-wise: only the fields used below are read, the batch lines of all the
        # moves in one grouped query, one assignment per status.
        self.browse(id_ for id_ in self._ids if id_).fetch(
            ["move_type", "sepa_hold", "state", "payment_state", "sepa_mandate_id",
             "currency_id", "commercial_partner_id"])
        lines = self._sepa_batch_line_summary()
        by_state = defaultdict(list)
        for move in self:
            by_state[move._sepa_state(*lines[move.id])].append(move.id)
        for state, ids in by_state.items():
            self.browse(ids).sepa_state = state

    def _sepa_batch_line_summary(self):
        """``{move id: (has an open batch line, state of its last batch line)}``.

        One grouped read for saved moves; new ones (forms) read their lines from the cache.
        """
        summary = dict.fromkeys(self._ids, (False, False))
        saved = self.browse(id_ for id_ in self._ids if id_)
        groups = self.env["sepa.batch.line"].sudo()._read_group(
            [("invoice_id", "in", saved.ids)], groupby=["invoice_id", "state"],
            aggregates=["id:max", "is_open:bool_or"]) if saved else []
        last_ids = {}  # invoice id: id of its last line
        for invoice, state, last_id, is_open in groups:
            has_open, last_state = summary[invoice.id]
            if last_id > last_ids.get(invoice.id, 0):
                last_ids[invoice.id], last_state = last_id, state
            summary[invoice.id] = (has_open or is_open, last_state)
        for move in self - saved:
            lines = move.sudo().sepa_batch_line_ids.sorted("id")
            summary[move.id] = (bool(lines.filtered("is_open")), lines[-1:].state)
        failed = [id_ for id_, (_open, state) in summary.items() if state == "failed"]
        for id_, row in self.browse(failed)._sepa_last_storno_rows().items():
            if row[2] in ("retry", "out"):
                summary[id_] = (summary[id_][0], False)  # released: collectable again
            elif row[2] == "hold":
                summary[id_] = (summary[id_][0], "held")  # decided: on hold, not failed
        return summary

    def _sepa_last_storno_rows(self):
        """``{invoice id: (date, code, release state, hold note)}`` of the last registered
        storno of each of these invoices: one query."""
        ids = [id_ for id_ in self._ids if id_]
        if not ids:
            return {}
        self.env["sepa.storno"].flush_model(["state", "date", "release_state", "reason_code",
                                             "hold_note", "invoice_ids"])
        rows = self.env.execute_query(SQL(
            """SELECT DISTINCT ON (r.invoice_id) r.invoice_id, s.date, s.reason_code,
                      s.release_state, s.hold_note
                 FROM sepa_storno_invoice_rel r
                 JOIN sepa_storno s ON s.id = r.storno_id
                WHERE r.invoice_id = ANY(%s) AND s.state = 'done'
             ORDER BY r.invoice_id, s.date DESC, s.id DESC""", ids))
        return {row[0]: row[1:] for row in rows}

    def _sepa_retried_ids(self):
        """Failed invoices released for collection: retried, or taken out of direct debit
        (then their direct debit hold keeps them out until it is released)."""
        return [id_ for id_, row in self._sepa_last_storno_rows().items()
                if row[2] in ("retry", "out")]

    def _sepa_state(self, has_open_line, last_line_state):
        """Direct debit status of ``self`` given a summary of its batch lines
        (``_sepa_batch_line_summary``: a failed debit held is "held", on hold)."""
        if self.move_type != "out_invoice":
            return False
        if self.sepa_hold:
            return "on_hold"
        is_open = self.state == "posted" and self.payment_state in ("not_paid", "partial")
        if has_open_line:
            return "in_batch"
        if last_line_state == "collected":
            return "collected"
        if last_line_state == "failed" and is_open:
            return "failed"
        if last_line_state == "held" and is_open:
            return "on_hold"
        if not is_open or not self.commercial_partner_id.sepa_collect:
            return "none"
        # What keeps a proposal from taking it, in the proposal's order of checks.
        if self.currency_id.name != "EUR":
            return "not_euro"
        # A mandate whose account a failed debit said is closed or wrong (AC04, AC01) is
        # not proposed until its IBAN changes.
        if self.sepa_mandate_id.state == "active" and self.sepa_mandate_id.account_invalid:
            return "account_invalid"
        # A closed mandate is never the invoice's: "No mandate" then.
        return {
            "active": "to_collect",
            "draft": "mandate_draft",
            "revoked": "mandate_revoked",
            "expired": "mandate_expired",
        }.get(self.sepa_mandate_id.state, "no_mandate")

    @api.depends("sepa_storno_ids.state", "sepa_storno_ids.release_state",
                 "sepa_storno_ids.hold_note")
    def _compute_sepa_last_storno_id(self):
        rows = self._sepa_last_storno_ids()
        for move in self:
            storno = self.env["sepa.storno"].browse(rows.get(move.id))
            move.sepa_last_storno_id = storno
            move.sepa_storno_hold_note = storno.release_state == "hold" and storno.hold_note

    def _sepa_last_storno_ids(self):
        """``{invoice id: id of its last registered storno}``: one query."""
        ids = [id_ for id_ in self._ids if id_]
        if not ids:
            return {}
        self.env["sepa.storno"].flush_model(["state", "date", "invoice_ids"])
        return dict(self.env.execute_query(SQL(
            """SELECT DISTINCT ON (r.invoice_id) r.invoice_id, s.id
                 FROM sepa_storno_invoice_rel r
                 JOIN sepa_storno s ON s.id = r.storno_id
                WHERE r.invoice_id = ANY(%s) AND s.state = 'done'
             ORDER BY r.invoice_id, s.date DESC, s.id DESC""", ids)))

    def _compute_sepa_invoice_batch_id(self):
        lines = self.env["sepa.batch.line"].search_fetch(
            [("invoice_id", "in", self.ids)], ["invoice_id", "batch_id"], order="id")
        last = {line.invoice_id.id: line.batch_id for line in lines}
        for move in self:
            move.sepa_invoice_batch_id = last.get(move.id, False)

    def _compute_payment_state(self):
        super()._compute_payment_state()
        paid = self.filtered(lambda move: move.payment_state == "paid" and move.id
                             and move.move_type == "out_invoice")
        if paid:
            paid._sepa_paid_by_open_batch().payment_state = self._sepa_in_batch_payment_state()

    def _sepa_paid_by_open_batch(self):
        """The invoices of ``self`` reconciled with the credit of a batch that is sent
        and not settled yet (its line is still open): one query."""
        self.env["account.move.line"].flush_model(["sepa_batch_line_id", "move_id"])
        self.env["sepa.batch.line"].flush_model(["is_open"])
        return self.browse(row[0] for row in self.env.execute_query(SQL(
            """SELECT DISTINCT receivable.move_id
                 FROM account_move_line receivable
                 JOIN account_partial_reconcile part ON part.debit_move_id = receivable.id
                 JOIN account_move_line credit ON credit.id = part.credit_move_id
                 JOIN sepa_batch_line line ON line.id = credit.sepa_batch_line_id
                WHERE receivable.move_id IN %s AND line.is_open""", tuple(self.ids))))

    @api.model
    def _sepa_in_batch_payment_state(self):
        """Payment state of an invoice paid by a batch that is sent but not settled: the
        bank has not credited the money yet (it may still come back). 'In Payment', as
        Odoo says of a payment not matched with a bank statement yet; deliberately not
        ``_get_invoice_in_payment_state``, which says 'Paid' without Accounting."""
        return "in_payment"

    def _sepa_settle_payment_state(self):
        """The batch collecting ``self`` is settled: 'In Payment' becomes 'Paid', in one
        UPDATE (as the posting wrote it, without a tracking message per invoice)."""
        self.env.flush_all()
        settled = self.browse(row[0] for row in self.env.execute_query(SQL(
            """UPDATE account_move SET payment_state = 'paid', write_uid = %s,
                      write_date = %s
                WHERE id IN %s AND payment_state = %s RETURNING id""",
            self.env.uid, self.env.cr.now(), tuple(self.ids) or (0,),
            self._sepa_in_batch_payment_state())))
        settled.invalidate_recordset(["payment_state"])
        settled.modified(["payment_state"])

    # ------------------------------------------------------------------
    # LOW-LEVEL
    # ------------------------------------------------------------------

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._sepa_create_invoice_mandates(only_per_invoice_partners=True)
        return posted

    def _reconcile_reversed_moves(self, reverse_moves, move_reverse_cancel):
        # The set-wise cancel of a batch reconciles the reversal with its entry itself,
        # once the reversal's lines are split (sepa.batch.posting._reverse_setwise).
        if self.env.context.get(REVERSE_SETWISE):
            return reverse_moves
        return super()._reconcile_reversed_moves(reverse_moves, move_reverse_cancel)

    def write(self, vals):
        if "sepa_mandate_id" in vals:
            lines = self._sepa_batch_line_summary()
            locked = self.filtered(lambda m: lines[m.id][0]
                                   or m.payment_state in ("paid", "in_payment"))
            if locked:
                raise UserError(_("The mandate of invoice %(invoice)s cannot change: it is "
                                  "paid or in a direct debit batch.", invoice=locked[0].name))
        return super().write(vals)

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _sepa_create_invoice_mandates(self, only_per_invoice_partners=False):
        """Create a one-off mandate to sign for each customer invoice that has none.

        With ``only_per_invoice_partners``, only invoices of customers collected by direct
        debit with one mandate per invoice get one (what posting does).
        """
        invoices = self.sudo().filtered(lambda move: move.move_type == "out_invoice")
        if only_per_invoice_partners:
            invoices = invoices.filtered(
                lambda move: move.commercial_partner_id.sepa_collect
                and move.commercial_partner_id.sepa_mandate_per_invoice)
        if not invoices:
            return self.env["sepa.mandate"]
        covered = self.env["sepa.mandate"].sudo().search([
            ("invoice_id", "in", invoices.ids),
            ("state", "in", ("draft", "active")),
        ]).invoice_id
        mandates = self.env["sepa.mandate"].sudo().create([
            invoice.commercial_partner_id._sepa_prepare_mandate_vals(invoice=invoice)
            for invoice in invoices - covered
        ])
        mandates._sepa_auto_send_for_signature()
        return mandates

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def button_draft(self):
        """The entry of a direct debit batch is undone by the batch's Cancel only: reset
        to draft by hand (the button shows to billing users too) it would take the
        payments off the invoices while the batch stays sent or settled."""
        batches = self._sepa_live_batches()
        if batches:
            raise UserError(_(
                "%(batches)s: this entry is the direct debit batch's; resetting it would "
                "take the payments off its invoices. Use Cancel on the batch (possible "
                "until the bank credited it).", batches=", ".join(batches.mapped("name"))))
        return super().button_draft()

    def _sepa_live_batches(self):
        """The batches, neither cancelled nor rejected, whose entries these are: their
        entries are undone by the batch's Cancel only."""
        return self.sudo().sepa_batch_id.filtered(
            lambda batch: batch.state not in ("cancel", "rejected"))

    def _sepa_debited_by_us(self):
        """The invoice is collected by direct debit (to collect, in a batch, collected):
        its printout asks for no payment by transfer."""
        self.ensure_one()
        return self.sepa_state in ("to_collect", "in_batch", "collected")

    def _sepa_action_open_form(self):
        """The form of this entry: the smart button of a batch or a storno."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.id,
            "views": [(False, "form")],
            "name": self.display_name,
        }

    def action_sepa_propose(self):
        """A direct debit proposal of the selected customer invoices."""
        invoices = self.filtered(lambda move: move.move_type == "out_invoice")
        if not invoices:
            raise UserError(_("Select customer invoices to collect by direct debit."))
        return self.env["sepa.batch.proposal"]._action_propose_invoices(invoices)

    def action_sepa_hold(self):
        """Hold direct debit: a failed invoice's failed debit is held (the dialog asks
        for a note); any other invoice is put on direct debit hold."""
        failed = self.filtered(lambda move: move.sepa_state == "failed")
        (self - failed).write({"sepa_hold": True})
        if failed:
            return self._sepa_held_stornos(failed).action_hold()
        return True

    def action_sepa_release_retry(self):
        """Release for retry: the held failed debits of these invoices are retried (the
        dialog says first what a retry of their reason means, where there is
        something to know)."""
        stornos = self._sepa_held_stornos(self.filtered(lambda m: m.sepa_state == "on_hold"))
        stornos = stornos.filtered(lambda storno: storno.release_state == "hold")
        if not stornos:
            raise UserError(_("No failed debit of these invoices is held."))
        return stornos.action_retry()

    @api.model
    def _sepa_held_stornos(self, invoices):
        return self.env["sepa.storno"].browse(set(invoices._sepa_last_storno_ids().values()))

    def action_sepa_release(self):
        self.write({"sepa_hold": False, "sepa_hold_reason": False})

    # ------------------------------------------------------------------
    # BUSINESS: pre-notification
    # ------------------------------------------------------------------

    def _sepa_record_notice(self):
        """The invoice e-mails of ``self`` were sent: those that carried the
        pre-notification reached the customer today (the first sending counts). One
        write for all of them."""
        notified = self.browse(self._sepa_notice_rows()).filtered(
            lambda move: not move.sepa_notified_date)
        notified.write({"sepa_notified_date": fields.Date.context_today(self)})
