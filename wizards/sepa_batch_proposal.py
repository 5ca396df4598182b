import functools

from dateutil.relativedelta import relativedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..bulk import insert_records
from ..constants import SCHEMES, SEQUENCE_TYPES
from ..sepa import SepaError
from ..sepa.calendar import earliest_collection_date, latest_delivery_date
from ..sepa.ids import validate_iban


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
    scheme = fields.Selection(
        SCHEMES,
        required=True, default="CORE", help="Only mandates of this scheme are collected.")
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

    @api.model
    def _default_journal(self):
        return self.env["account.journal"].search([
            ("type", "=", "bank"),
            ("company_id", "=", self.env.company.id),
            ("bank_account_id", "!=", False),
        ], limit=1)

    # ------------------------------------------------------------------
    # COMPUTE / CONSTRAINT
    # ------------------------------------------------------------------

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

    @api.constrains("instruction_date")
    def _check_instruction_date(self):
        limit = fields.Date.context_today(self) + relativedelta(years=1)
        for wizard in self:
            if wizard.instruction_date > limit:
                raise ValidationError(_("The instruction date can be at most one year ahead "
                                        "(%(limit)s).", limit=limit))

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
               AND %(filters)s
          ORDER BY p.name, due_date, m.id
            """,
            company=self.company_id.id,
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

    def _collection_dates(self, due_date):
        lead = self.company_id.sepa_bank_lead_days
        earliest = earliest_collection_date(
            fields.Date.context_today(self), self.scheme, bank_cutoff_days=lead)
        collection = max(due_date, earliest)
        return collection, latest_delivery_date(collection, self.scheme, bank_lead_days=lead)

    def _represent_collection_dates(self, planned):
        """Collection and latest delivery date of a failed debit re-presented on its
        ``planned`` date (the storno's ``represent_date``): a proposal made before it
        collects on that date, never earlier."""
        return planned, latest_delivery_date(
            planned, self.scheme, bank_lead_days=self.company_id.sepa_bank_lead_days)

    def _prepare_line_vals(self, row, params):
        reason = self._exclusion_reason(row, params)
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
        }
        if not reason:
            collection, delivery = params["collection_dates"](row["due_date"])
            if row["represent_date"] and row["represent_date"] > collection:
                # a re-presentation after payday: collected on its planned date
                collection, delivery = self._represent_collection_dates(row["represent_date"])
            vals.update({
                "sequence_type": self._sequence_type(row, params),
                "collection_date": collection,
                "latest_delivery_date": delivery,
            })
        return vals

    def action_propose(self):
        self.ensure_one()
        self.company_id._sepa_check_creditor_identifier()
        params = self._check_params()
        (self.line_ids | self.excluded_line_ids).unlink()
        insert_records(self.env["sepa.batch.proposal.line"], [
            self._prepare_line_vals(row, params) for row in self._candidate_rows()
        ])
        self.proposed = True
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

    @api.model
    def _action_propose_invoices(self, invoices):
        """The proposal of ``invoices`` (a selection in To Collect), already proposed:
        the instruction date covers their due dates (at most one year ahead)."""
        if not self._default_journal():  # let the user pick the bank journal first
            return dict(self._reopen(), res_id=False,
                        context={"default_invoice_ids": invoices.ids})
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
        self.company_id._sepa_check_creditor_identifier()
        self._check_delivery_dates()
        rows = self._selected_rows()
        if not rows:
            raise UserError(_("Select at least one invoice to collect."))
        batch = self.env["sepa.batch"].create({
            "company_id": self.company_id.id,
            "journal_id": self.journal_id.id,
            "scheme": self.scheme,
        })
        batch._check_creditor()
        batch._add_invoices(rows)
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
    reason = fields.Char(string="Excluded Because", help="Why the invoice cannot be collected.")

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

    def write(self, vals):
        if vals.get("selected") and self.filtered("reason"):
            raise UserError(_("Excluded invoices cannot be selected."))
        return super().write(vals)

