import functools
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..bulk import insert_records
from ..constants import SCHEMES, SEQUENCE_TYPES
from ..sepa import SepaError
from ..sepa.calendar import (
    earliest_collection_date,
    latest_delivery_date,
    next_collection_day,
)
from ..sepa.ids import validate_iban
from ..sepa.notice import earliest_collection_after_notice

#: Proposal lines made (their values in memory) and inserted at a time.
LINE_CHUNK = 10000

class SepaBatchProposal(models.TransientModel):
    _name = "sepa.batch.proposal"
    _description = "SEPA Direct Debit Batch Proposal"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        help="Creditor company.")
    instruction_date = fields.Date(
        required=True,
        default=lambda self: fields.Date.context_today(self) + relativedelta(months=1),
        help="Every collectable invoice due up to this date is proposed (at most one year "
        "ahead).",
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        required=True,
        check_company=True,
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id), "
        "('bank_account_id', '!=', False)]",
        default=lambda self: self._default_journal(),
        help="Creditor bank account the money is collected on.",
    )
    creditor_id = fields.Many2one(
        "sepa.creditor",
        string="Creditor",
        check_company=True,
        domain="[('company_id', '=', company_id)]",
        compute="_compute_creditor_id", store=True, readonly=False, precompute=True,
        help="Only mandates of this creditor identifier are collected; the batch and its "
        "file are the creditor's (default: the company's first).",
    )
    creditor_count = fields.Integer(
        compute="_compute_creditor_count",
        help="Active creditor identifiers of the company (the choice shows from two).")
    scheme = fields.Selection(
        SCHEMES,
        required=True, default="CORE", help="Only mandates of this scheme are collected.")
    collect_on_one_date = fields.Boolean(
        string="Collect all on",
        default=True,
        help="Collect every selected invoice on one date, so the bank credits once per "
        "sequence type. Off: each invoice on its due date (never earlier than the earliest "
        "possible collection date), one payment block per date.",
    )
    one_collection_date = fields.Date(
        string="Collection Date",
        compute="_compute_one_collection_date", store=True, readonly=False, precompute=True,
        help="The collection date of every selected invoice: by default the company's "
        "collection day of the month on or after the earliest possible collection date "
        "(Settings), else the earliest possible date. Not earlier than that date.",
    )
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", help="Only these customers (empty: all).")
    invoice_ids = fields.Many2many(
        "account.move", string="Invoices", help="Only these invoices (empty: all).")
    line_ids = fields.One2many(
        "sepa.batch.proposal.line", "proposal_id", string="Collectable Invoices",
        domain=[("reason", "=", False)], help="Invoices that can be collected.")
    excluded_line_ids = fields.One2many(
        "sepa.batch.proposal.line", "proposal_id", string="Excluded Invoices",
        domain=[("reason", "!=", False)], help="Invoices that cannot be collected, and why.")
    proposed = fields.Boolean(help="The proposal was computed.")
    selected_count = fields.Integer(
        string="Selected", compute="_compute_selection", help="Invoices selected.")
    selected_amount = fields.Monetary(
        string="Selected Amount", compute="_compute_selection", currency_field="currency_id",
        help="Total of the selected invoices.")
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.ref("base.EUR"), help="Euro.")
    latest_delivery_date = fields.Date(
        string="Deliver to the Bank By",
        compute="_compute_selection",
        help="The last day the file of the selected debits may reach the bank: the "
        "earliest of their latest delivery dates.",
    )
    delivery_date_passed = fields.Boolean(
        compute="_compute_selection",
        help="The latest delivery date of some selected debits has passed.",
    )
    notice_late_count = fields.Integer(
        string="Pre-notified Too Late",
        compute="_compute_notice_late_count",
        help="Selected debits whose pre-notification reached the customer less than the "
        "pre-notification period before their collection date.",
    )

    @api.model
    def _default_journal(self):
        creditor = self.env["sepa.mandate"]._default_creditor()
        return self.env["account.journal"].search([
            ("type", "=", "bank"),
            ("company_id", "=", self.env.company.id),
            ("bank_account_id", "!=", False),
            *([("id", "in", creditor.journal_ids.ids)] if creditor.journal_ids else []),
        ], limit=1)

    @api.onchange("creditor_id")
    def _onchange_creditor_id(self):
        journals = self.creditor_id.journal_ids.filtered("bank_account_id")
        if journals and self.journal_id not in journals:
            self.journal_id = journals[:1]

    # ------------------------------------------------------------------
    # COMPUTE / CONSTRAINT
    # ------------------------------------------------------------------

    @api.depends("company_id")
    def _compute_creditor_id(self):
        Creditor = self.env["sepa.creditor"]
        for wizard in self:
            if wizard.creditor_id.company_id != wizard.company_id:
                wizard.creditor_id = Creditor._default_for_company(wizard.company_id)

    @api.depends("company_id")
    def _compute_creditor_count(self):
        counts = dict(self.env["sepa.creditor"]._read_group(
            [("company_id", "in", self.company_id.ids)], groupby=["company_id"],
            aggregates=["__count"]))
        for wizard in self:
            wizard.creditor_count = counts.get(wizard.company_id, 0)

    @api.depends("company_id", "scheme")
    def _compute_one_collection_date(self):
        for wizard in self:
            wizard.one_collection_date = next_collection_day(
                wizard._earliest_collection_date(), wizard.company_id.sepa_collection_day)

    @api.depends("line_ids.selected", "line_ids.amount", "line_ids.latest_delivery_date")
    def _compute_selection(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            selected = wizard.line_ids.filtered("selected")
            wizard.selected_count = len(selected)
            wizard.selected_amount = sum(selected.mapped("amount"))
            dates = selected.mapped("latest_delivery_date")
            wizard.latest_delivery_date = min(dates) if dates else False
            wizard.delivery_date_passed = bool(dates) and min(dates) < today

    @api.depends("line_ids.selected", "line_ids.notice_late")
    def _compute_notice_late_count(self):
        for wizard in self:
            wizard.notice_late_count = len(wizard.line_ids.filtered(
                lambda line: line.selected and line.notice_late))

    @api.constrains("instruction_date")
    def _check_instruction_date(self):
        limit = fields.Date.context_today(self) + relativedelta(years=1)
        for wizard in self:
            if wizard.instruction_date > limit:
                raise ValidationError(_("The instruction date can be at most one year ahead "
                                        "(%(limit)s).", limit=limit))

    @api.onchange("collect_on_one_date", "one_collection_date")
    def _onchange_one_collection_date(self):
        """Say at once that the date is too early (saving it is refused)."""
        if self.one_collection_date and (message := self._one_collection_date_error()):
            return {"warning": {"title": _("Collection date too early"), "message": message}}
        return None

    @api.constrains("collect_on_one_date", "one_collection_date", "scheme")
    def _check_one_collection_date(self):
        for wizard in self:
            if message := wizard._one_collection_date_error():
                raise ValidationError(message)

    def _one_collection_date_error(self):
        """Why the run's collection date cannot be taken, or None."""
        self.ensure_one()
        if self.collect_on_one_date:
            earliest = self._earliest_collection_date()
            if not self.one_collection_date:
                return _(
                    "Give the date to collect all invoices on (the earliest possible is "
                    "%(earliest)s), or collect each invoice on its due date.",
                    earliest=format_date(self.env, earliest))
            if self.one_collection_date < earliest:
                return _(
                    "The collection date %(date)s is too early: the earliest possible "
                    "collection date is %(earliest)s (the file reaches the bank today at "
                    "the earliest; the bank needs %(lead)s business day(s) and the "
                    "debtor's bank one more). Choose %(earliest)s or later.",
                    date=format_date(self.env, self.one_collection_date),
                    earliest=format_date(self.env, earliest),
                    lead=self.company_id.sepa_bank_lead_days)
        return None

    # ------------------------------------------------------------------
    # LOW-LEVEL
    # ------------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if {"collect_on_one_date", "one_collection_date"} & set(vals):
            self.filtered("proposed")._apply_collection_dates()
        return res

    # ------------------------------------------------------------------
    # BUSINESS: proposal
    # ------------------------------------------------------------------

    def _candidate_rows(self):
        """One SQL read of every open invoice of customers collected by direct debit."""
        self.env.flush_all()
        filters = [SQL("TRUE")]
        if self.partner_ids:
            filters.append(SQL("m.commercial_partner_id IN %s",
                               tuple(self.partner_ids.commercial_partner_id.ids)))
        if self.invoice_ids:
            filters.append(SQL("m.id IN %s", tuple(self.invoice_ids.ids)))
        return self.env.execute_query_dict(SQL(
            """
            SELECT m.id AS invoice_id, m.commercial_partner_id AS partner_id,
                   m.amount_residual AS amount, m.currency_id, m.sepa_mandate_id AS mandate_id,
                   COALESCE(m.invoice_date_due, m.invoice_date) AS due_date,
                   m.sepa_hold AS hold, m.sepa_hold_reason AS hold_reason,
                   md.state AS mandate_state, md.mandate_type, md.scheme,
                   %(sequence_type)s AS mandate_sequence,
                   md.mandate_type = 'one_off' AND (
                       EXISTS (SELECT 1 FROM sepa_batch_line used
                                WHERE used.mandate_id = md.id AND used.state = 'collected')
                       -- a debit before this addon (a last debit date and no batch line)
                       OR md.last_debit_date IS NOT NULL AND NOT EXISTS (
                           SELECT 1 FROM sepa_batch_line l WHERE l.mandate_id = md.id)
                   ) AS one_off_used,
                   md.company_id AS mandate_company_id, bank.acc_number AS iban,
                   md.account_invalid, invalid.reason_code AS invalid_code,
                   invalid.date AS invalid_date,
                   open_line.batch_name, storno.storno_date, storno.storno_code,
                   storno.release_state, storno.hold_note, storno.represent_date
              FROM account_move m
              JOIN res_partner p ON p.id = m.commercial_partner_id
         LEFT JOIN sepa_mandate md ON md.id = m.sepa_mandate_id
         LEFT JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
         LEFT JOIN sepa_storno invalid ON invalid.id = md.invalid_account_storno_id
         LEFT JOIN LATERAL (
                   SELECT b.name AS batch_name
                     FROM sepa_batch_line l JOIN sepa_batch b ON b.id = l.batch_id
                    WHERE l.invoice_id = m.id AND l.is_open
                    LIMIT 1) open_line ON TRUE
         LEFT JOIN LATERAL (
                   SELECT s.date AS storno_date, s.reason_code AS storno_code,
                          s.release_state, s.hold_note, s.represent_date
                     FROM sepa_storno_invoice_rel r JOIN sepa_storno s ON s.id = r.storno_id
                    WHERE r.invoice_id = m.id AND s.state = 'done'
                    ORDER BY s.date DESC, s.id DESC
                    LIMIT 1) storno ON TRUE
             WHERE m.company_id = %(company)s
               AND m.move_type = 'out_invoice'
               AND m.state = 'posted'
               AND m.payment_state IN ('not_paid', 'partial')
               AND m.amount_residual > 0
               AND p.sepa_collect
               AND COALESCE(m.invoice_date_due, m.invoice_date) <= %(date)s
               AND (md.id IS NULL OR md.creditor_id = %(creditor)s)
               AND %(filters)s
          ORDER BY p.name, due_date, m.id
            """,
            company=self.company_id.id,
            creditor=self.creditor_id.id,
            date=self.instruction_date,
            # FRST or RCUR from the mandate's override or debit history, in this query
            sequence_type=self.env["sepa.mandate"]._sequence_type_sql("md"),
            filters=SQL(" AND ").join(filters),
        ))

    def _pending_first_mandates(self):
        """Mandates with a first debit not settled yet in an open batch."""
        self.env.flush_all()
        rows = self.env.execute_query(SQL(
            """
            SELECT DISTINCT l.mandate_id FROM sepa_batch_line l
              JOIN sepa_batch b ON b.id = l.batch_id
             WHERE l.is_open AND l.sequence_type = 'FRST' AND b.company_id = %s
            """, self.company_id.id))
        return {row[0] for row in rows}

    def _check_params(self):
        """What the checks of every candidate need from the proposal, read once for all
        (thousands of candidates)."""
        return {
            "pending_first": self._pending_first_mandates(),
            "euro": self.currency_id.id,
            "company_id": self.company_id.id,
            "scheme": self.scheme,
            "always_rcur": self.company_id.sepa_always_rcur,
            # the same few due dates for all the invoices
            "collection_dates": functools.cache(self._collection_dates),
        }

    def _exclusion_reason(self, row, params):
        """Why the invoice of ``row`` cannot be collected, or None."""
        env = self.env  # env._ knows the user's language, also outside a request
        checks = [
            (row["batch_name"], lambda: env._("Already in open batch %s", row["batch_name"])),
            (row["release_state"] == "none",
             lambda: env._("Debit failed on %(date)s (%(code)s): retry or hold",
                           date=format_date(env, row["storno_date"]),
                           code=row["storno_code"])),
            (row["release_state"] == "hold",
             lambda: env._("On hold: %(note)s (the debit failed on %(date)s, %(code)s)",
                           date=format_date(env, row["storno_date"]), code=row["storno_code"],
                           note=row["hold_note"] or env._("no reason given"))),
            (row["hold"],
             lambda: env._("On hold: %s", row["hold_reason"] or env._("no reason given"))),
            (row["currency_id"] != params["euro"], lambda: env._("Not in euro")),
            (not row["mandate_id"], lambda: env._("No mandate")),
            (row["mandate_id"] and row["mandate_state"] != "active",
             lambda: env._("Mandate %s", self._state_label(row["mandate_state"]).lower())),
            (row["account_invalid"],
             lambda: env._("Account no longer valid (%(code)s, debit failed on %(date)s): "
                           "enter the customer's new IBAN on the mandate",
                           code=row["invalid_code"],
                           date=format_date(env, row["invalid_date"]))),
            (row["mandate_company_id"] and row["mandate_company_id"] != params["company_id"],
             lambda: env._("Mandate of another company")),
            (row["scheme"] and row["scheme"] != params["scheme"],
             lambda: env._("Mandate scheme is %s", row["scheme"])),
            (row["one_off_used"],
             lambda: env._("One-off mandate already used")),
            (row["mandate_id"] in params["pending_first"],
             lambda: env._("First debit of the mandate still pending in another batch")),
            (row["represent_date"] and row["represent_date"] > self.instruction_date,
             lambda: env._("Re-presentation planned on %(date)s",
                           date=format_date(env, row["represent_date"]))),
        ]
        for failed, reason in checks:
            if failed:
                return reason()
        try:
            validate_iban(row["iban"] or "")
        except SepaError:
            return self.env._("IBAN %s invalid", row["iban"] or "")
        return None

    def _state_label(self, state):
        return dict(self.env["sepa.mandate"]._fields["state"]._description_selection(
            self.env))[state]

    def _sequence_type(self, row, params):
        if row["mandate_type"] == "one_off":
            return "OOFF"
        if row["mandate_sequence"] == "first" and not params["always_rcur"]:
            return "FRST"
        return "RCUR"

    def _earliest_collection_date(self):
        """The earliest collection date of a file delivered to the bank today: the same
        for every sequence type (FRST, RCUR, OOFF: D-1 since the November 2016
        rulebook, ``sepa.calendar``)."""
        return earliest_collection_date(
            fields.Date.context_today(self), self.scheme or "CORE",
            bank_cutoff_days=self.company_id.sepa_bank_lead_days)

    def _collection_dates(self, due_date):
        lead = self.company_id.sepa_bank_lead_days
        collection = max(due_date, self._earliest_collection_date())
        return collection, latest_delivery_date(collection, self.scheme, bank_lead_days=lead)

    def _requested_date(self, due_date):
        """The date an invoice due on ``due_date`` is asked to be collected on, before
        the earliest possible date is applied: the run's date, or its due date."""
        return self.one_collection_date if self.collect_on_one_date else due_date

    def _represent_collection_dates(self, planned):
        """Collection and latest delivery date of a failed debit re-presented on its
        ``planned`` date (the storno's ``represent_date``): a proposal made before it
        collects on that date, never earlier."""
        return planned, latest_delivery_date(
            planned, self.scheme, bank_lead_days=self.company_id.sepa_bank_lead_days)

    def _prepare_line_vals(self, row, params):
        reason = self._exclusion_reason(row, params) or self._notice_exclusion_reason(
            row, params)
        vals = {
            "proposal_id": self.id,
            "company_id": self.company_id.id,  # stored related: no recomputation after
            "invoice_id": row["invoice_id"],
            "partner_id": row["partner_id"],
            "mandate_id": row["mandate_id"],
            "amount": row["amount"],
            "currency_id": row["currency_id"],
            "reason": reason,
            "selected": not reason,
            "due_date": row["due_date"],
            # the stored computed fields as they compute (no recomputation after the
            # INSERT: it cost a write of every line)
            "latest_delivery_date": False,
            "notice_late": False,
        }
        if not reason:
            collection, delivery = params["collection_dates"](
                self._requested_date(row["due_date"]))
            if row["represent_date"] and row["represent_date"] > collection:
                # a re-presentation after payday: collected on its planned date
                collection, delivery = self._represent_collection_dates(row["represent_date"])
            vals.update({
                "sequence_type": self._sequence_type(row, params),
                "collection_date": collection,
                "latest_delivery_date": delivery,
                **self._notice_vals(row, params, collection),
            })
        return vals

    def _check_creditor(self):
        self.company_id._sepa_check_creditor_identifier()
        if not self.creditor_id:
            raise UserError(_("Choose the creditor identifier to collect for."))
        self.creditor_id._check_journal(self.journal_id)

    def action_propose(self):
        self.ensure_one()
        self._check_creditor()
        params = self._check_params()
        (self.line_ids | self.excluded_line_ids).unlink()
        rows = self._candidate_rows()
        params["notices"] = self._notice_rows(rows)
        # LINE_CHUNK lines at a time: the values of 100,000 lines held at once (dicts,
        # then the column arrays of the INSERT) cost hundreds of MB
        for start in range(0, len(rows), LINE_CHUNK):
            insert_records(self.env["sepa.batch.proposal.line"], [
                self._prepare_line_vals(row, params) for row in rows[start:start + LINE_CHUNK]
            ])
        self.proposed = True
        return self._reopen()

    def _apply_collection_dates(self):
        """Give the collectable lines of these proposals the run's date, or each its due
        date (never earlier than the earliest possible date): one write per date, not
        per line."""
        Line = self.env["sepa.batch.proposal.line"]
        for wizard in self:
            domain = [("proposal_id", "=", wizard.id), ("reason", "=", False)]
            if wizard.collect_on_one_date:
                groups = [(wizard.one_collection_date, Line.search(domain))]
            else:
                groups = Line._read_group(domain, ["due_date:day"], ["id:recordset"])
            for requested, lines in groups:
                collection, _delivery = wizard._collection_dates(requested)
                lines.write({"collection_date": collection})

    def action_apply_collection_date(self):
        """The button next to the date: the form saved the date, ``write`` moved the
        lines; show them."""
        self.ensure_one()
        return self._reopen()

    def _late_lines(self):
        """Selected lines whose latest delivery date has passed (one query, not a read
        of the thousands of lines)."""
        return self.env["sepa.batch.proposal.line"].search([
            ("proposal_id", "=", self.id), ("selected", "=", True), ("reason", "=", False),
            ("latest_delivery_date", "<", fields.Date.context_today(self)),
        ])

    def action_shift_dates(self):
        """Move debits whose delivery date passed to the earliest possible collection date."""
        self.ensure_one()
        collection, _delivery = self._collection_dates(fields.Date.context_today(self))
        self._late_lines().write({"collection_date": collection})
        return self._reopen()

    def _check_delivery_dates(self):
        """Refuse selected debits whose file can no longer reach the bank in time."""
        late = self._late_lines()
        if late:
            raise UserError(_(
                "The latest delivery date of these debits has passed: %(debits)s. Shift "
                "them to the earliest possible collection date (link in the banner above "
                "the list) or give them a later collection date.",
                debits=", ".join(
                    _("%(invoice)s (collection date %(date)s, deliver to the bank by "
                      "%(deadline)s)", invoice=line.invoice_id.name,
                      date=format_date(self.env, line.collection_date),
                      deadline=format_date(self.env, line.latest_delivery_date))
                    for line in late[:20])))

    # ------------------------------------------------------------------
    # BUSINESS: pre-notification
    # ------------------------------------------------------------------

    def _notice_rows(self, rows):
        """``{invoice id: (notified date, notice period, customer has an e-mail)}`` of the
        candidate ``rows`` whose pre-notification the proposal checks (company switch
        on, invoice dated from the day it was switched on): one query."""
        company = self.company_id
        ids = [row["invoice_id"] for row in rows]
        if not company.sepa_notice_check or not ids:
            return {}
        self.env["account.move"].flush_model(
            ["sepa_notified_date", "invoice_date", "partner_id", "commercial_partner_id"])
        self.env["res.partner"].flush_model(["email", "sepa_notice_days"])
        since = SQL("m.invoice_date >= %s", company.sepa_notice_check_from) \
            if company.sepa_notice_check_from else SQL("TRUE")
        return {row[0]: row[1:] for row in self.env.execute_query(SQL(
            """SELECT m.id, m.sepa_notified_date,
                      COALESCE(NULLIF(p.sepa_notice_days, 0), %(days)s),
                      COALESCE(ip.email, '') != '' OR COALESCE(p.email, '') != ''
                 FROM account_move m
                 JOIN res_partner p ON p.id = m.commercial_partner_id
                 JOIN res_partner ip ON ip.id = m.partner_id
                WHERE m.id = ANY(%(ids)s) AND %(since)s""",
            days=company.sepa_notice_days, ids=ids, since=since))}

    def _notice_exclusion_reason(self, row, params):
        """Why the invoice of ``row`` cannot be collected for want of a pre-notification,
        or None: never notified and notified on the invoice only, or nobody can tell the
        customer (no e-mail address)."""
        notice = params.get("notices", {}).get(row["invoice_id"])
        if not notice or notice[0]:
            return None
        env = self.env
        if not notice[2]:
            return env._("Not pre-notified: the customer has no e-mail address. Send the "
                         "invoice by post and enter the day in Pre-notified On on the invoice.")
        if self.company_id.sepa_notice_method == "invoice":
            return env._("Not pre-notified: send the invoice first")
        return None  # the e-mail of the debit tells the customer

    def _notice_vals(self, row, params, collection):
        """The pre-notification of a line collected on ``collection``: the day it reached
        the customer, the first collection date it allows, and whether that is later."""
        notice = params.get("notices", {}).get(row["invoice_id"])
        if not notice:
            return {}
        notified = notice[0]
        if not notified:
            # not notified yet: by e-mail per debit, the e-mail goes when the batch is
            # created (sepa.prenote.mail), so the period counts from today
            if self.company_id.sepa_notice_method not in ("email", "both") or not notice[2]:
                return {}
            notified = fields.Date.context_today(self)
        earliest = earliest_collection_after_notice(notified, notice[1])
        return {"notified_date": notified, "notice_earliest_date": earliest,
                "notice_late": collection < earliest}

    def _notice_late_lines(self):
        """Selected lines pre-notified too late for their collection date (one query)."""
        return self.env["sepa.batch.proposal.line"].search([
            ("proposal_id", "=", self.id), ("selected", "=", True), ("reason", "=", False),
            ("notice_late", "=", True),
        ])

    def action_shift_notice_dates(self):
        """Move the debits pre-notified too late to the first date their notice allows:
        one write per date."""
        self.ensure_one()
        by_date = defaultdict(list)
        for line in self._notice_late_lines():
            by_date[line.notice_earliest_date].append(line.id)
        for earliest, ids in by_date.items():
            self.env["sepa.batch.proposal.line"].browse(ids).write(
                {"collection_date": earliest})
        return self._reopen()

    def action_leave_out_notice_late(self):
        """Leave out the debits pre-notified too late, with the reason: one write per
        notified day and earliest date."""
        self.ensure_one()
        env = self.env
        by_dates = defaultdict(list)
        for line in self._notice_late_lines():
            by_dates[line.notified_date, line.notice_earliest_date].append(line.id)
        for (notified, earliest), ids in by_dates.items():
            env["sepa.batch.proposal.line"].browse(ids).write({
                "selected": False,
                "reason": env._("Pre-notified on %(notified)s, earliest collection "
                                "%(earliest)s", notified=format_date(env, notified),
                                earliest=format_date(env, earliest)),
            })
        return self._reopen()

    def _check_notice_dates(self):
        """Refuse selected debits pre-notified too late for their collection date."""
        late = self._notice_late_lines()
        if late:
            raise UserError(_(
                "These debits were pre-notified too late for their collection date: "
                "%(debits)s. Shift them to the first date their pre-notification allows, "
                "or leave them out (links in the banner above the list).",
                debits=", ".join(
                    _("%(invoice)s (pre-notified on %(notified)s, earliest collection "
                      "%(earliest)s)", invoice=line.invoice_id.name,
                      notified=format_date(self.env, line.notified_date),
                      earliest=format_date(self.env, line.notice_earliest_date))
                    for line in late[:20])))

    @api.model
    def _action_propose_invoices(self, invoices):
        """The proposal of ``invoices`` (a selection in To Collect), already proposed:
        the instruction date covers their due dates (at most one year ahead)."""
        if not self._default_journal():  # let the user pick the bank journal first
            return dict(self._reopen(), res_id=False,
                        context={**self._reopen()["context"],
                                 "default_invoice_ids": invoices.ids})
        today = fields.Date.context_today(self)
        due = [d for d in invoices.mapped(lambda m: m.invoice_date_due or m.invoice_date) if d]
        wizard = self.create({
            "invoice_ids": [Command.set(invoices.ids)],
            "instruction_date": min(max([*due, today + relativedelta(months=1)]),
                                    today + relativedelta(years=1)),
        })
        return wizard.action_propose()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Direct Debit Proposal"),
            # wide enough for the invoice, mandate and date columns
            "context": {"dialog_size": "extra-large"},
        }

    # ------------------------------------------------------------------
    # BUSINESS: batch creation
    # ------------------------------------------------------------------

    def _selected_rows(self):
        """The selected lines in the order of the list, with their invoice number, as the
        batch takes them (``sepa.batch._add_invoices``): one read instead of the lines
        and the invoices through the ORM."""
        self.env["sepa.batch.proposal.line"].flush_model()
        self.env["account.move"].flush_model(["name"])
        return self.env.execute_query_dict(SQL(
            """
            SELECT l.invoice_id, l.partner_id, l.mandate_id, l.amount, l.sequence_type,
                   l.collection_date, m.name AS invoice_name
              FROM sepa_batch_proposal_line l
              JOIN account_move m ON m.id = l.invoice_id
             WHERE l.proposal_id = %s AND l.selected AND (l.reason IS NULL OR l.reason = '')
          ORDER BY l.collection_date, l.id
            """, self.id))

    def action_create_batch(self):
        self.ensure_one()
        self._check_creditor()
        self._check_delivery_dates()
        self._check_notice_dates()
        rows = self._selected_rows()
        if not rows:
            raise UserError(_("Select at least one invoice to collect."))
        batch = self.env["sepa.batch"].create({
            "company_id": self.company_id.id,
            "journal_id": self.journal_id.id,
            "creditor_id": self.creditor_id.id,
            "scheme": self.scheme,
        })
        batch._check_creditor()
        batch._add_invoices(rows, notify=True)
        return self._open_batch(batch)

    def _open_batch(self, batch):
        """The new batch in the Batches action, as the main screen: its breadcrumb and
        address are the batch's, not those of the list the proposal came from."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_batch")
        action.update({
            "res_id": batch.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "main",
        })
        return action


class SepaBatchProposalLine(models.TransientModel):
    _name = "sepa.batch.proposal.line"
    _inherit = ["sepa.company.check.mixin"]
    _description = "SEPA Direct Debit Batch Proposal Line"
    _order = "reason desc, collection_date, id"
    _check_company_auto = True

    proposal_id = fields.Many2one(
        "sepa.batch.proposal", required=True, ondelete="cascade", help="The proposal.")
    company_id = fields.Many2one(
        related="proposal_id.company_id", store=True, index=True,
        help="Creditor company of the proposal.")
    selected = fields.Boolean(default=True, help="Collect this invoice in the new batch.")
    invoice_id = fields.Many2one("account.move", string="Invoice", required=True,
                                 check_company=True, help="Open customer invoice.")
    partner_id = fields.Many2one("res.partner", string="Customer", check_company=True,
                                 help="Debtor.")
    mandate_id = fields.Many2one("sepa.mandate", string="Mandate", check_company=True,
                                 help="Mandate used.")
    amount = fields.Monetary(help="Amount to collect: the invoice's residual.")
    currency_id = fields.Many2one(
        "res.currency", string="Currency", help="Currency of the invoice (euro to collect).")
    sequence_type = fields.Selection(
        SEQUENCE_TYPES,
        help="SEPA sequence type of the debit.")
    collection_date = fields.Date(help="Requested collection date: the due date, never "
                                  "earlier than the earliest possible date.")
    latest_delivery_date = fields.Date(
        string="Deliver to the Bank By",
        compute="_compute_latest_delivery_date",
        store=True,
        help="Last day the file may reach the bank for this collection date.")
    due_date = fields.Date(
        help="Due date of the invoice: its collection date when the proposal collects "
        "each invoice on its due date.")
    reason = fields.Char(string="Excluded Because", help="Why the invoice cannot be collected.")
    notified_date = fields.Date(
        string="Pre-notified On",
        help="The day the pre-notification of the debit reached the customer.")
    notice_earliest_date = fields.Date(
        string="Earliest Collection (Pre-notification)",
        help="The first collection date the pre-notification allows: the notice period "
        "(the customer's agreed one, else the company's) after the day it reached the "
        "customer, on a TARGET2 business day.")
    notice_late = fields.Boolean(
        string="Pre-notified Too Late",
        compute="_compute_notice_late",
        store=True,
        help="The collection date is earlier than the pre-notification allows.")

    @api.depends("collection_date", "proposal_id.scheme",
                 "proposal_id.company_id.sepa_bank_lead_days")
    def _compute_latest_delivery_date(self):
        # Stored and computed by the server: a date edited in the list moves the
        # deadline the proposal checks, not only the one on screen.
        deadlines = {}  # a few collection dates for thousands of lines
        for line in self:
            proposal = line.proposal_id
            key = (line.collection_date, proposal.scheme,
                   proposal.company_id.sepa_bank_lead_days)
            if key not in deadlines:
                deadlines[key] = key[0] and latest_delivery_date(
                    key[0], key[1], bank_lead_days=key[2])
            line.latest_delivery_date = deadlines[key]

    @api.depends("collection_date", "notice_earliest_date")
    def _compute_notice_late(self):
        for line in self:
            line.notice_late = bool(line.notice_earliest_date and line.collection_date
                                    and line.collection_date < line.notice_earliest_date)

    def write(self, vals):
        if vals.get("selected") and self.filtered("reason"):
            raise UserError(_("Excluded invoices cannot be selected."))
        return super().write(vals)

