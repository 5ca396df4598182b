import logging
from collections import defaultdict
from decimal import Decimal

from psycopg2 import OperationalError

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..constants import PAIN_VERSIONS, SCHEMES
from ..sepa import SepaError
from ..sepa.calendar import latest_delivery_date
from ..sepa.ids import normalize_iban
from ..sepa.matching import mentions as _mentions
from ..sepa.model import (
    Address,
    Amendment,
    Batch,
    Creditor,
    Debit,
    PaymentBlock,
    block_order,
    compose_lines,
)
from ..sepa.pain008 import write_pain008
from .sepa_reconcile_setwise import _keep_written

_logger = logging.getLogger(__name__)


class SepaBatch(models.Model):
    _name = "sepa.batch"
    _description = "SEPA Direct Debit Batch"
    _inherit = ["mail.thread", "mail.activity.mixin", "sepa.state.mixin",
                "sepa.company.check.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference",
        required=True,
        copy=False,
        readonly=True,
        default="/",
        help="Batch reference, also the message id (MsgId) of its file.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company,
        help="Creditor company.")
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.ref("base.EUR"),
        help="SEPA direct debits are in euro.")
    journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        required=True,
        check_company=True,
        domain="[('type', '=', 'bank')]",
        tracking=True,
        help="Bank journal of the creditor account the money is collected on.",
    )
    creditor_iban = fields.Char(
        related="journal_id.bank_account_id.acc_number", string="Creditor IBAN",
        help="IBAN the debits are credited to.")
    creditor_id = fields.Many2one(
        "sepa.creditor",
        string="Creditor",
        index=True,
        check_company=True,
        ondelete="restrict",
        tracking=True,
        domain="[('company_id', '=', company_id)]",
        help="The creditor identifier the batch collects for: only mandates of this "
        "creditor; the file carries its name and identifier.",
    )
    creditor_identifier = fields.Char(
        related="creditor_id.identifier", string="Creditor Identifier",
        help="SEPA creditor identifier of the batch's creditor.")
    pain_version = fields.Selection(
        PAIN_VERSIONS,
        string="pain.008 Version",
        required=True,
        help="Version of the file, from the journal or the company.",
    )
    scheme = fields.Selection(
        SCHEMES,
        required=True, default="CORE", help="SEPA Direct Debit scheme of all debits.")
    batch_booking = fields.Boolean(
        default=True,
        help="Ask the bank to book one credit per payment information block instead of "
        "one per debit.",
    )
    line_ids = fields.One2many(
        "sepa.batch.line", "batch_id", string="Lines", help="One line per invoice.")
    amount_total = fields.Monetary(
        string="Total", compute="_compute_totals", store=True,
        help="Sum of the amounts collected.")
    line_count = fields.Integer(
        string="Invoices", compute="_compute_totals", store=True,
        help="Number of invoices collected.")
    debit_count = fields.Integer(
        string="Debits", compute="_compute_totals", store=True,
        help="Number of transactions in the file (merged invoices count once).")
    collection_date = fields.Date(
        string="First Collection Date", compute="_compute_totals", store=True,
        help="Earliest requested collection date of the batch.")
    collection_date_last = fields.Date(
        string="Last Collection Date", compute="_compute_totals", store=True,
        help="Latest requested collection date of the batch.")
    collection_dates = fields.Char(
        string="Collection Dates", compute="_compute_collection_dates",
        help="The requested collection date of the debits, or the first and the last "
        "when they differ (the cover letter lists every block with its date).")
    latest_delivery_date = fields.Date(
        string="Deliver to the Bank By",
        compute="_compute_latest_delivery_date",
        store=True,
        help="The last day the file may reach the bank: the earliest of the latest "
        "delivery dates of its debits (first collection date minus the interbank day "
        "and the bank lead time, in TARGET2 business days).",
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("generated", "File Generated"),
            ("sent", "Sent"),
            ("done", "Settled"),
            ("cancel", "Cancelled"),
            ("rejected", "Rejected by the Bank"),
        ],
        default="draft",
        required=True,
        copy=False,
        index=True,
        tracking=True,
        help="Draft → File Generated → Sent to the bank → Settled by the bank's credit; "
        "Cancelled undoes everything done before settlement. Rejected by the Bank: the "
        "bank refused the whole file (a status report rejecting it); undone as a "
        "cancel, nothing charged.",
    )
    bank_reject_reason_id = fields.Many2one(
        "sepa.return.reason", string="Bank's Reject Reason", readonly=True, copy=False,
        help="Why the bank rejected the whole file (the status report's reason code).")
    bank_reject_date = fields.Date(
        string="Rejected by the Bank On", readonly=True, copy=False,
        help="When the bank's report rejecting the whole file was imported.")
    job_state = fields.Selection(
        [("generate", "Generating the file"), ("send", "Posting the entry")],
        string="In Progress",
        copy=False,
        help="A background job is generating or posting this large batch.",
    )
    job_error = fields.Text(
        string="Background Job Error",
        copy=False,
        readonly=True,
        help="Why the last background job of this batch failed (also in the chatter); "
        "the batch is back as it was before the job, its buttons work again.",
    )
    file = fields.Binary(
        string="pain.008 File", attachment=True, copy=False, readonly=True,
        help="The generated direct debit file.")
    filename = fields.Char(copy=False, help="Name of the generated file.")
    move_id = fields.Many2one(
        "account.move", string="Journal Entry", readonly=True, copy=False, check_company=True,
        help="Entry posted when the batch was sent.")
    sent_date = fields.Date(readonly=True, copy=False, help="Date the batch was sent.")
    settled_date = fields.Date(
        string="Settled On", readonly=True, copy=False,
        help="Date the bank credited the batch: the latest of its bank lines reconciled "
        "with its transit (the day of settlement for a batch settled by its failed debits "
        "alone).")
    demo_mode = fields.Boolean(
        string="Demo Mode", compute="_compute_demo_mode",
        help="The database holds the addon's demo data: a sent batch offers a sample bank "
        "statement (its credit and two returned debits) to import.")
    storno_release_count = fields.Integer(
        string="Failed Debits to Release", compute="_compute_storno_release_count",
        search="_search_storno_release_count",
        help="Failed debits of this batch whose invoices are neither retried nor held "
        "yet: decide in the Control after Reconciliation.")
    storno_control_count = fields.Integer(
        string="Failed Debits to Control", compute="_compute_storno_control_count",
        search="_search_storno_control_count",
        help="Failed debits of this batch the Control after Reconciliation lists: those "
        "to release, and those the re-presentation policy released or held that are "
        "neither confirmed nor collected again.")
    storno_count = fields.Integer(
        string="Failed Debits", compute="_compute_storno_figures",
        help="Registered failed debits (stornos) of this batch: rejected by the bank, "
        "returned, refunded or reversed. Cancelled stornos are not counted.")
    bank_credit_amount = fields.Monetary(
        string="Expected Bank Credit", compute="_compute_storno_figures",
        help="What the bank credits for this batch: its total minus the debits rejected "
        "before settlement (registered rejects while the batch was sent). Returns, "
        "refunds and reversals after settlement, and any reject registered once the batch "
        "was settled, do not lower it: the bank credited them and debits them back "
        "separately, as it does every bank charge. The bank may credit it in one line or "
        "one line per collection date (payment block).")
    notice_sent_count = fields.Integer(
        string="Pre-notified", compute="_compute_notice_counts",
        help="Debits whose pre-notification e-mail was sent to the customer (merged "
        "invoices count once).")
    notice_queued_count = fields.Integer(
        string="Pre-notifications Queued", compute="_compute_notice_counts",
        help="Debits whose pre-notification e-mail waits in the mail queue.")
    notice_failed_count = fields.Integer(
        string="Pre-notifications Failed", compute="_compute_notice_counts",
        help="Debits whose pre-notification e-mail the mail server refused: tell these "
        "customers otherwise, or correct their address and send the e-mail again "
        "(Settings > Technical > Emails).")
    notice_no_email_count = fields.Integer(
        string="No E-mail Address", compute="_compute_notice_counts",
        help="Debits whose customer has no e-mail address: no pre-notification e-mail "
        "was sent; tell them otherwise (the invoice by post).")
    notice_missing_count = fields.Integer(
        string="Not Pre-notified", compute="_compute_notice_counts",
        help="Debits whose pre-notification e-mail failed or could not be sent (no e-mail "
        "address).")
    user_id = fields.Many2one(
        "res.users", string="Responsible", default=lambda self: self.env.user,
        tracking=True, index="btree_not_null",
        help="Who delivers the file to the bank: a To Do activity reminds them on the "
        "'Deliver to the Bank By' date while the batch is not sent.")

    _sql_constraints = [
        ("name_company_uniq", "unique(name, company_id)",
         "A batch with this reference already exists in this company."),
    ]

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("line_ids.amount", "line_ids.collection_date", "line_ids.end_to_end_id")
    def _compute_totals(self):
        totals = {
            batch.id: figures
            for batch, *figures in self.env["sepa.batch.line"]._read_group(
                [("batch_id", "in", self.ids)],
                groupby=["batch_id"],
                aggregates=["amount:sum", "__count", "end_to_end_id:count_distinct",
                            "collection_date:min", "collection_date:max"],
            )
        }
        for batch in self:
            amount, count, debits, first_date, last_date = totals.get(
                batch.id, (0.0, 0, 0, False, False))
            batch.amount_total = amount
            batch.line_count = count
            batch.debit_count = debits
            batch.collection_date = first_date
            batch.collection_date_last = last_date

    def _compute_storno_release_count(self):
        counts = dict(self.env["sepa.storno"]._read_group(
            [("batch_id", "in", self.ids), ("state", "=", "done"),
             ("release_state", "=", "none")], ["batch_id"], ["__count"]))
        for batch in self:
            batch.storno_release_count = counts.get(batch, 0)

    def _storno_control_counts(self, batch_ids=None):
        """``{batch id: failed debits the control lists}`` in one SQL read (all batches
        when ``batch_ids`` is None)."""
        for model in ("sepa.storno", "sepa.batch.line"):
            self.env[model].flush_model()
        control = self.env["sepa.control"]
        return dict(self.env.execute_query(SQL(
            """SELECT s.batch_id, COUNT(*) FROM sepa_storno s
                WHERE s.state = 'done' AND s.batch_id IS NOT NULL AND %s
                  AND (s.release_state = 'none' OR %s)
             GROUP BY s.batch_id""",
            SQL("s.batch_id = ANY(%s)", batch_ids) if batch_ids is not None else SQL("TRUE"),
            control._by_policy_sql("s"))))

    def _compute_storno_control_count(self):
        counts = self._storno_control_counts(self.ids)
        for batch in self:
            batch.storno_control_count = counts.get(batch.id, 0)

    def _search_storno_control_count(self, operator, value):
        """Batches with (``> 0``, ``!= 0``) or without failed debits to control."""
        if operator not in (">", "!=", "=") or value not in (0, False):
            raise UserError(_("Search the failed debits to control with > 0 or = 0."))
        ids = list(self._storno_control_counts())
        return [("id", "in" if operator in (">", "!=") else "not in", ids)]

    def _compute_storno_figures(self):
        """Failed debits and the bank's expected credit, in one grouped read."""
        groups = self.env["sepa.storno"]._read_group(
            [("batch_id", "in", self.ids), ("state", "=", "done")],
            ["batch_id", "after_settlement"], ["__count", "amount:sum"])
        counts, rejected = defaultdict(int), defaultdict(float)
        for batch, after_settlement, count, amount in groups:
            counts[batch.id] += count
            if not after_settlement:
                rejected[batch.id] += amount
        for batch in self:
            batch.storno_count = counts[batch.id]
            batch.bank_credit_amount = batch.currency_id.round(
                batch.amount_total - rejected[batch.id])

    def _compute_notice_counts(self):
        """Debits per pre-notification state, in one grouped read (merged invoices share
        their debit's state and count once)."""
        counts = defaultdict(int)
        for batch, state, debits in self.env["sepa.batch.line"]._read_group(
                [("batch_id", "in", self.ids), ("notice_state", "!=", False)],
                ["batch_id", "notice_state"], ["end_to_end_id:count_distinct"]):
            counts[batch.id, state] = debits
        for batch in self:
            batch.notice_sent_count = counts[batch.id, "sent"]
            batch.notice_queued_count = counts[batch.id, "queued"]
            batch.notice_failed_count = counts[batch.id, "failed"]
            batch.notice_no_email_count = counts[batch.id, "no_email"]
            batch.notice_missing_count = (counts[batch.id, "failed"]
                                          + counts[batch.id, "no_email"])

    def _compute_demo_mode(self):
        self.demo_mode = self.env["sepa.sample.statement"]._demo_mode()

    def _search_storno_release_count(self, operator, value):
        """Batches with (``> 0``, ``!= 0``) or without failed debits to release."""
        if operator not in (">", "!=", "=") or value not in (0, False):
            raise UserError(_("Search the failed debits to release with > 0 or = 0."))
        ids = [batch.id for (batch,) in self.env["sepa.storno"]._read_group(
            [("state", "=", "done"), ("release_state", "=", "none"),
             ("batch_id", "!=", False)], ["batch_id"])]
        return [("id", "in" if operator in (">", "!=") else "not in", ids)]

    @api.depends("collection_date", "collection_date_last")
    @api.depends_context("lang")
    def _compute_collection_dates(self):
        for batch in self:
            first, last = batch.collection_date, batch.collection_date_last
            dates = [format_date(self.env, day) for day in dict.fromkeys([first, last]) if day]
            batch.collection_dates = " – ".join(dates)

    @api.depends("collection_date", "scheme", "company_id.sepa_bank_lead_days")
    def _compute_latest_delivery_date(self):
        for batch in self:
            batch.latest_delivery_date = batch.collection_date and latest_delivery_date(
                batch.collection_date, batch.scheme,
                bank_lead_days=batch.company_id.sepa_bank_lead_days)

    @api.constrains("creditor_id", "journal_id")
    def _check_creditor_journal(self):
        for batch in self.filtered("creditor_id"):
            batch.creditor_id._check_journal(batch.journal_id)

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id"))
                vals["name"] = self.env["ir.sequence"].with_company(
                    company or self.env.company).next_by_code("sepa.batch")
            if "creditor_id" not in vals:
                vals["creditor_id"] = self.env["sepa.creditor"]._default_for_company(
                    self.env["res.company"].browse(vals.get("company_id"))
                    or self.env.company).id
            if not vals.get("pain_version") and vals.get("journal_id"):
                journal = self.env["account.journal"].browse(vals["journal_id"])
                vals["pain_version"] = journal._sepa_pain_version()
        return super().create(vals_list)

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals or "user_id" in vals:
            self._sync_delivery_reminders()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft_or_cancelled(self):
        if any(batch.state not in ("draft", "cancel", "rejected") for batch in self):
            raise UserError(_("Only draft or cancelled batches can be deleted."))

    # ------------------------------------------------------------------
    # BUSINESS: composition
    # ------------------------------------------------------------------

    def _add_invoices(self, rows, notify=False):
        """Put invoices in this new batch: its lines, composed in one place.

        ``rows``: one dict per invoice (``invoice_id``, ``invoice_name``, ``partner_id``,
        ``mandate_id``, ``amount``, ``sequence_type``, ``collection_date``), in the order
        the debits are numbered. ``notify``: queue the pre-notification e-mails of the
        new lines (``sepa.prenote.mail.notify``); the portal access tokens their links
        need are written with the invoices' status, in the same UPDATE (a second UPDATE
        of 100,000 invoices cost tens of seconds). Returns the lines, created set-wise
        (see ``sepa.batch.line._create_guarded``).
        """
        self.ensure_one()
        if self.state != "draft" or self.line_ids:
            raise UserError(_("Invoices can only be put in a new batch, not in %(batch)s.",
                              batch=self.name))
        lines = self.env["sepa.batch.line"]._create_guarded(self._compose_lines(rows))
        invoice_ids = [row["invoice_id"] for row in rows]
        prepared = None
        if notify:
            # before the flush of the notices' query: the status is written, not computed
            _keep_written(self.env["account.move"].browse(invoice_ids), "_compute_sepa_state")
            prepared = self.env["sepa.prenote.mail"]._prepare(lines)
        self._write_in_batch_states(invoice_ids, prepared[2] if prepared else None)
        self._sync_delivery_reminders()
        if notify:
            self.env["sepa.prenote.mail"].notify(lines, prepared)
        return lines

    def _write_in_batch_states(self, invoice_ids, tokens=None):
        """The invoices ``invoice_ids`` got an open line in this new batch: their direct
        debit status is "In batch", "On hold" when held (``account.move._sepa_state``
        with an open line), written in one UPDATE instead of computed invoice by
        invoice and written a hundred at a time (2.5 s for 10,000 invoices). ``tokens``
        (``{invoice id: portal access token}``): written in the same UPDATE to those of
        these invoices that have none (nothing else of them changes when their status
        does not)."""
        invoices = self.env["account.move"].browse(invoice_ids)
        _keep_written(invoices, "_compute_sepa_state")  # before the flush: not computed
        invoices.flush_recordset(["move_type", "sepa_hold", "sepa_state"])
        tokens = tokens or {}
        state = SQL("CASE WHEN m.sepa_hold THEN 'on_hold' ELSE 'in_batch' END")
        changes = SQL("(m.move_type = 'out_invoice' AND m.sepa_state IS DISTINCT FROM %s)",
                      state)
        self.env.execute_query(SQL(
            """UPDATE account_move m
                  SET sepa_state = CASE WHEN %(changes)s THEN %(state)s ELSE m.sepa_state END,
                      write_uid = CASE WHEN %(changes)s THEN %(uid)s ELSE m.write_uid END,
                      write_date = CASE WHEN %(changes)s THEN %(now)s ELSE m.write_date END,
                      access_token = COALESCE(m.access_token, u.token)
                 FROM unnest(%(ids)s::int[], %(tokens)s::varchar[]) AS u(id, token)
                WHERE m.id = u.id
                  AND (%(changes)s OR m.access_token IS NULL AND u.token IS NOT NULL)""",
            changes=changes, state=state, uid=self.env.uid, now=self.env.cr.now(),
            ids=invoices.ids, tokens=[tokens.get(invoice_id) for invoice_id in invoices.ids]))
        invoices.invalidate_recordset(["sepa_state", "write_uid", "write_date"])
        if tokens:
            invoices.browse(tokens).invalidate_recordset(["access_token"])
        invoices.modified(["sepa_state"])

    def _compose_lines(self, rows):
        """Values of the batch lines of ``rows``: debit numbers, end-to-end ids, remittance
        and PmtInfIds come from ``sepa.model.compose_lines`` (the file's block order);
        first debits of a mandate are merged, other sequence types when the company
        asks for it."""
        composed = compose_lines(
            self.name,
            [(row["invoice_id"], row["mandate_id"], row["sequence_type"],
              row["collection_date"], row["invoice_name"]) for row in rows],
            scheme=self.scheme,
            merge_all=self.company_id.sepa_merge_all_sequence_types,
        )
        return [{
            "batch_id": self.id,
            "invoice_id": row["invoice_id"],
            "partner_id": row["partner_id"],
            "mandate_id": row["mandate_id"],
            "amount": row["amount"],
            "sequence_type": row["sequence_type"],
            "collection_date": row["collection_date"],
            "debit_number": ids.debit_number,
            "end_to_end_id": ids.end_to_end_id,
            "remittance": ids.remittance,
            "pmt_inf_id": ids.pmt_inf_id,
        } for row, ids in zip(rows, composed, strict=True)]

    # ------------------------------------------------------------------
    # BUSINESS: reminder
    # ------------------------------------------------------------------

    def _sync_delivery_reminders(self):
        """The reminder of each of these batches: ONE automated To Do activity for its
        responsible on its 'Deliver to the Bank By' date while it is draft or generated
        (created, or moved to the current date and responsible); marked done once the
        batch is sent (or settled), removed when it is cancelled or has neither date nor
        responsible. The summary is in the responsible's language (who reads it).
        Set-wise: one search, one create, one write per distinct date and user."""
        todo = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        if not todo or not self.ids:
            return
        Activity = self.env["mail.activity"].sudo()
        reminders = defaultdict(Activity.browse)
        for activity in Activity.search([
                ("res_model", "=", self._name), ("res_id", "in", self.ids),
                ("activity_type_id", "=", todo.id), ("automated", "=", True)]):
            reminders[activity.res_id] |= activity
        to_create, to_move = [], defaultdict(Activity.browse)
        done, removed = Activity.browse(), Activity.browse()
        for batch in self:
            current = reminders[batch.id]
            if batch.state in ("sent", "done"):
                done |= current
            elif batch.state not in ("draft", "generated") or not batch.latest_delivery_date \
                    or not batch.user_id:
                removed |= current
            elif not current:
                to_create.append(batch._prepare_delivery_reminder(todo))
            else:
                removed |= current[1:]
                if (current[0].date_deadline, current[0].user_id) != \
                        (batch.latest_delivery_date, batch.user_id):
                    to_move[batch.latest_delivery_date, batch.user_id.id] |= current[0]
        removed.unlink()
        for (deadline, user_id), activities in to_move.items():
            activities.write({"date_deadline": deadline, "user_id": user_id})
        if to_create:
            Activity.create(to_create)
        if done:
            done.action_feedback(feedback=_("The batch was sent to the bank."))

    def _prepare_delivery_reminder(self, todo):
        user = self.user_id
        env = self.with_context(lang=user.lang or self.env.lang).env
        return {
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": self.id,
            "activity_type_id": todo.id,
            "automated": True,
            "user_id": user.id,
            "date_deadline": self.latest_delivery_date,
            "summary": env._("Deliver %(batch)s to the bank", batch=self.name),
            "note": env._("The file of direct debit batch %(batch)s must reach the bank by "
                          "this date: generate it, deliver it and click Mark as Sent.",
                          batch=self.name),
        }

    # ------------------------------------------------------------------
    # BUSINESS: file generation
    # ------------------------------------------------------------------


    def _check_delivery_dates(self):
        """Refuse a file that can no longer reach the bank in time: a debit whose latest
        delivery date (from its collection date) has passed."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        lead = self.company_id.sepa_bank_lead_days
        Line = self.env["sepa.batch.line"]
        late = [
            day for [day] in Line._read_group([("batch_id", "=", self.id)], ["collection_date:day"])
            if latest_delivery_date(day, self.scheme, bank_lead_days=lead) < today
        ]
        if not late:
            return
        domain = [("batch_id", "=", self.id), ("collection_date", "in", late)]
        lines = Line.search(domain, limit=20)
        raise UserError(_(
            "Batch %(batch)s cannot be generated: the latest delivery date of %(count)s "
            "debits has passed, the bank would receive the file too late: %(debits)s. "
            "Cancel the batch and create it again: the proposal moves late debits to the "
            "earliest possible collection date.",
            batch=self.name, count=Line.search_count(domain),
            debits=", ".join(_(
                "%(invoice)s (collection date %(date)s, deliver to the bank by "
                "%(deadline)s)", invoice=line.invoice_id.name,
                date=format_date(self.env, line.collection_date),
                deadline=format_date(self.env, latest_delivery_date(
                    line.collection_date, self.scheme, bank_lead_days=lead)))
                for line in lines)))

    def _check_creditor(self):
        self.ensure_one()
        self.company_id._sepa_check_creditor_identifier()
        if not self.creditor_id:
            raise UserError(_("Batch %(batch)s has no creditor: choose the creditor "
                              "identifier it collects for.", batch=self.name))
        self.creditor_id._check_journal(self.journal_id)
        self._check_mandate_creditors()
        if not self.journal_id.bank_account_id.acc_number:
            raise UserError(_("Bank journal %(journal)s has no bank account (IBAN): set it "
                              "on the journal before collecting.", journal=self.journal_id.name))

    def _check_mandate_creditors(self):
        """Refuse a batch with a debit under a mandate of another creditor (a mandate
        moved after the batch was made): one query, the error names the mandates (of
        the batch's company only: another company's is refused without naming it, see
        ``_prepare_debits``)."""
        self.env["sepa.batch.line"].flush_model(["batch_id", "mandate_id"])
        self.env["sepa.mandate"].flush_model(["creditor_id", "name"])
        rows = self.env.execute_query(SQL(
            """SELECT DISTINCT md.name FROM sepa_batch_line l
                 JOIN sepa_mandate md ON md.id = l.mandate_id AND md.company_id = l.company_id
                WHERE l.batch_id = %s AND md.creditor_id IS DISTINCT FROM %s
             ORDER BY md.name LIMIT 20""", self.id, self.creditor_id.id))
        if rows:
            raise UserError(_(
                "Batch %(batch)s collects for creditor %(creditor)s, but these mandates "
                "belong to another creditor now: %(mandates)s. Cancel the batch and "
                "propose again for each creditor.", batch=self.name,
                creditor=self.creditor_id.display_name,
                mandates=", ".join(row[0] for row in rows)))

    def _prepare_creditor(self):
        company = self.company_id
        partner = company.partner_id
        return Creditor(
            name=self.creditor_id.name or company.name,
            iban=normalize_iban(self.journal_id.bank_account_id.acc_number),
            bic=self.journal_id.bank_account_id.bank_id.bic or None,
            creditor_id=self.creditor_id.identifier,
            address=_address(partner.country_id.code, partner.street, partner.zip,
                             partner.city),
        )

    def _line_rows(self, lines=None):
        """``(id, end-to-end id, collection date, sequence type, PmtInfId, amount)`` of
        each of ``lines``, in their order, the amount as exact text: one query, no
        records. Without ``lines``: every line of this batch, in the order of its
        ``line_ids`` (not read: 100,000 records)."""
        self.env["sepa.batch.line"].flush_model(
            ["batch_id", "debit_number", "end_to_end_id", "collection_date",
             "sequence_type", "pmt_inf_id", "amount"])
        if lines is None:
            self.ensure_one()
            return self.env.execute_query(SQL(
                """SELECT l.id, l.end_to_end_id, l.collection_date, l.sequence_type,
                          l.pmt_inf_id, l.amount::text
                     FROM sepa_batch_line l
                    WHERE l.batch_id = %s
                 ORDER BY l.debit_number, l.id""", self.id))
        return self.env.execute_query(SQL(
            """SELECT l.id, l.end_to_end_id, l.collection_date, l.sequence_type,
                      l.pmt_inf_id, l.amount::text
                 FROM unnest(%s::int[]) WITH ORDINALITY AS s(id, seq)
                 JOIN sepa_batch_line l ON l.id = s.id
             ORDER BY s.seq""", list(lines.ids)))

    def _debtor_rows(self, line_ids):
        """Debtor data of the first line of each end-to-end id among ``line_ids``: one
        query over lines, mandates, bank accounts, partners and countries."""
        self.env["sepa.batch.line"].flush_model()
        self.env["sepa.mandate"].flush_model(
            ["name", "signature_date", "debtor_bic", "partner_bank_id"])
        self.env["res.partner.bank"].flush_model(["acc_number"])
        self.env["res.partner"].flush_model(["name", "street", "zip", "city", "country_id"])
        self.env["res.country"].flush_model(["code"])
        return self.env.execute_query(SQL(
            """SELECT DISTINCT ON (l.end_to_end_id)
                      l.end_to_end_id, md.name, md.signature_date, p.name, bank.acc_number,
                      md.debtor_bic, country.code, p.street, p.zip, p.city, l.remittance,
                      l.original_iban, l.original_reference,
                      l.original_creditor_identifier, l.original_creditor_name
                 FROM unnest(%s::int[]) WITH ORDINALITY AS s(id, seq)
                 JOIN sepa_batch_line l ON l.id = s.id
                 JOIN sepa_mandate md ON md.id = l.mandate_id AND md.company_id = l.company_id
                 JOIN res_partner p ON p.id = l.partner_id
            LEFT JOIN res_country country ON country.id = p.country_id
            LEFT JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
             ORDER BY l.end_to_end_id, s.seq""", line_ids))

    def _prepare_debits(self, lines):
        """One Debit per end-to-end id (merged invoices share one).

        ``lines``: batch lines, or their rows from ``_line_rows``. The data comes from two
        queries: records would cost a few hundred microseconds a debit.
        """
        if isinstance(lines, models.BaseModel):
            lines = self._line_rows(lines)
        amounts = defaultdict(Decimal)
        for _id, e2e, _date, _sequence_type, _pmt_inf_id, amount in lines:
            amounts[e2e] += Decimal(amount)
        debits = {}
        for (e2e, reference, signed, name, iban, bic, country, street, postcode, town,
             remittance, original_iban, original_reference, original_creditor,
             original_creditor_name) in self._debtor_rows([line[0] for line in lines]):
            iban = normalize_iban(iban or "")
            debits[e2e] = Debit(
                end_to_end_id=e2e,
                amount=amounts[e2e].quantize(Decimal("0.01")),
                mandate_id=reference,
                signature_date=signed or False,
                debtor_name=name or False,
                debtor_iban=iban,
                debtor_bic=bic or None,
                debtor_address=_address(country, street, postcode, town),
                remittance=remittance or None,
                amendment=Amendment.for_change(
                    original_iban, original_reference, iban, new_bic=bic,
                    original_creditor_id=original_creditor,
                    original_creditor_name=original_creditor_name)
                if original_iban or original_reference or original_creditor else None,
            )
        missing = [e2e for e2e in amounts if e2e not in debits]
        if missing:
            # The file only reads mandates of the batch's company: a debit without one
            # (e.g. a line written in SQL with another company's mandate) is never sent.
            raise UserError(_(
                "Batch %(batch)s cannot be generated: no mandate of %(company)s was found "
                "for these debits: %(debits)s. Cancel the batch and propose again.",
                batch=self.name, company=self.company_id.name,
                debits=", ".join(missing[:20])))
        return {e2e: debits[e2e] for e2e in amounts}

    def _prepare_blocks(self, lines, debits):
        """Payment information blocks: the lines' PmtInfIds (one per collection date +
        sequence type, see ``_compose_lines``), in the rulebook's order
        (``sepa.model.block_order``).

        ``lines``: batch lines, or their rows from ``_line_rows``.
        """
        if isinstance(lines, models.BaseModel):
            lines = self._line_rows(lines)
        scheme = self.scheme
        keys, e2e_ids = {}, defaultdict(dict)  # dicts keep the first-seen order
        for _id, e2e, collection_date, sequence_type, block_id, _amount in lines:
            keys.setdefault(block_id, (collection_date, sequence_type, scheme))
            e2e_ids[block_id][e2e] = True
        return [
            PaymentBlock(
                pmt_inf_id=block_id,
                collection_date=collection_date,
                sequence_type=sequence_type,
                scheme=block_scheme,
                debits=tuple(debits[e2e] for e2e in e2e_ids[block_id]),
            )
            for block_id, (collection_date, sequence_type, block_scheme)
            in sorted(keys.items(), key=lambda item: block_order(item[1]))
        ]

    def _prepare_sepa_batch(self):
        self.ensure_one()
        lines = self._line_rows()
        debits = self._prepare_debits(lines)
        blocks = self._prepare_blocks(lines, debits)
        return Batch(
            msg_id=self.name,
            creation_time=fields.Datetime.context_timestamp(self, fields.Datetime.now()),
            initiating_party=self.company_id.name,
            creditor=self._prepare_creditor(),
            blocks=tuple(blocks),
            batch_booking=self.batch_booking,
        )

    def _fix_amendments(self):
        """Freeze amendment data on the lines: the file reports what it was at generation.

        A line that reports an amendment also keeps the IBAN and reference its file
        carries (what the bank knows once it is settled). One UPDATE of the lines whose
        values differ from their mandate's.
        """
        self.env["sepa.mandate"].flush_model(
            ["original_iban", "original_reference", "name", "partner_bank_id",
             "original_creditor_identifier", "original_creditor_name", "creditor_id"])
        self.env["res.partner.bank"].flush_model(["sanitized_acc_number"])
        self.env["sepa.creditor"].flush_model(["identifier"])
        fnames = ["original_iban", "original_reference", "amended_iban", "amended_reference",
                  "original_creditor_identifier", "original_creditor_name",
                  "amended_creditor_identifier"]
        self.env["sepa.batch.line"].flush_model([*fnames, "mandate_id", "batch_id"])
        changed = self.env.execute_query(SQL(
            """UPDATE sepa_batch_line l
                  SET original_iban = md.iban, original_reference = md.reference,
                      amended_iban = md.new_iban, amended_reference = md.new_reference,
                      original_creditor_identifier = md.creditor,
                      original_creditor_name = md.creditor_name,
                      amended_creditor_identifier = md.new_creditor,
                      write_uid = %(uid)s, write_date = %(now)s
                 FROM (SELECT m.id, NULLIF(m.original_iban, '') AS iban,
                              NULLIF(m.original_reference, '') AS reference,
                              NULLIF(m.original_creditor_identifier, '') AS creditor,
                              CASE WHEN NULLIF(m.original_creditor_identifier, '') IS NOT NULL
                                   THEN m.original_creditor_name END AS creditor_name,
                              CASE WHEN NULLIF(m.original_creditor_identifier, '') IS NOT NULL
                                   THEN cr.identifier END AS new_creditor,
                              CASE WHEN NULLIF(m.original_iban, '') IS NOT NULL
                                     OR NULLIF(m.original_reference, '') IS NOT NULL
                                   THEN bank.sanitized_acc_number END AS new_iban,
                              CASE WHEN NULLIF(m.original_iban, '') IS NOT NULL
                                     OR NULLIF(m.original_reference, '') IS NOT NULL
                                   THEN m.name END AS new_reference
                         FROM sepa_mandate m
                    LEFT JOIN sepa_creditor cr ON cr.id = m.creditor_id
                    LEFT JOIN res_partner_bank bank ON bank.id = m.partner_bank_id) md
                WHERE md.id = l.mandate_id AND l.batch_id IN %(batches)s
                  AND (l.original_iban IS DISTINCT FROM md.iban
                       OR l.original_reference IS DISTINCT FROM md.reference
                       OR l.amended_iban IS DISTINCT FROM md.new_iban
                       OR l.amended_reference IS DISTINCT FROM md.new_reference
                       OR l.original_creditor_identifier IS DISTINCT FROM md.creditor
                       OR l.original_creditor_name IS DISTINCT FROM md.creditor_name
                       OR l.amended_creditor_identifier IS DISTINCT FROM md.new_creditor)
            RETURNING l.id""",
            uid=self.env.uid, now=self.env.cr.now(), batches=tuple(self.ids)))
        self.env["sepa.batch.line"].browse(row[0] for row in changed)._updated_in_sql(fnames)

    def _generate_file(self):
        self.ensure_one()
        self._check_mandates_active(_("generate the file of"))
        self._check_delivery_dates()
        self.env["sepa.batch.posting"].check_collectable(self)
        self._check_creditor()
        self._fix_amendments()
        sepa_batch = self._prepare_sepa_batch()
        try:
            data = write_pain008(sepa_batch, version=self.pain_version,
                                 today=fields.Date.context_today(self))
        except SepaError as error:
            raise UserError(_("The direct debit file of batch %(batch)s is not valid: "
                              "%(reason)s", batch=self.name, reason=error)) from error
        self._write_file(data)
        self.write({
            "filename": f"{self.name}.xml",
            "state": "generated",
            "job_state": False,
        })
        return data

    def _write_file(self, data):
        """The file ``data`` (bytes) into the attachment that stores the field ``file``,
        as the field's write does but without base64: the field takes it encoded (a
        third larger) and its attachment decodes it twice, 60 to 130 MB more at 100,000
        debits."""
        self.ensure_one()
        attachments = self.env["ir.attachment"].sudo()
        existing = attachments.search([
            ("res_model", "=", self._name), ("res_field", "=", "file"),
            ("res_id", "=", self.id)])
        if existing:
            existing.write({"raw": data})
        else:
            attachments.create({"name": "file", "res_model": self._name, "res_field": "file",
                                "res_id": self.id, "type": "binary", "raw": data})
        self.invalidate_recordset(["file"])

    # ------------------------------------------------------------------
    # BUSINESS: accounting (models/sepa_batch_posting.py)
    # ------------------------------------------------------------------

    def _send(self):
        self.ensure_one()
        self._check_mandates_active(_("mark as sent"))
        move = self.env["sepa.batch.posting"].post(self)
        self.write({
            "move_id": move.id,
            "state": "sent",
            "sent_date": fields.Date.context_today(self),
            "job_state": False,
        })

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_generate(self):
        self._check_state(("draft", "generated"), _("generate the file of"))
        for batch in self:
            if batch._run_in_background("generate"):
                continue
            batch._generate_file()
        if len(self) == 1 and self.filename:  # written with the file (not read: MBs)
            # Odoo's download-and-close (as account.move.send): the file opens in a new
            # tab that the browser turns into a download, then the form reloads and
            # shows the generated state and "Mark as Sent".
            return dict(self.action_download(), target="new", close=True)
        return True

    def action_download(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/sepa.batch/{self.id}/file/{self.filename}?download=true",
            "target": "self",
        }

    def action_open_invoices(self):
        """Smart button: the invoices collected by the batch."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type")
        action.update({
            "domain": [("id", "in", self.line_ids.invoice_id.ids)],
            "context": {"default_move_type": "out_invoice", "create": False},
            "name": _("Invoices of %(batch)s", batch=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def action_open_stornos(self):
        """Smart button: the failed debits (stornos) of the batch."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_storno")
        action.update({
            "domain": [("batch_id", "=", self.id)],
            "context": {"search_default_registered": 1, "create": False},
            "name": _("Failed Debits of %(batch)s", batch=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def action_open_notice_lines(self):
        """Smart button: the debits of the batch whose customer was not pre-notified by
        e-mail (failed, or no e-mail address)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_batch_line_notice")
        action.update({
            "domain": [("batch_id", "=", self.id)],
            "context": {"search_default_notice_missing": 1, "create": False},
            "name": _("Pre-notifications of %(batch)s", batch=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def action_open_move(self):
        """Smart button: the journal entry of the sent batch."""
        self.ensure_one()
        return self.move_id._sepa_action_open_form()

    def action_open_control(self):
        """Control after reconciliation of this batch's failed debits."""
        self.ensure_one()
        return self.env["sepa.control"]._action_open(self)

    def action_download_sample_statement(self):
        """Demo: download the camt.053 the bank would send for this sent batch (its credit
        and two returned debits), to import with a statement import
        (``sepa.sample.statement``; served by ``controllers/sample_statement.py``)."""
        self.ensure_one()
        self.env["sepa.sample.statement"]._statement_file(self)  # refused here, in a dialog
        return {
            "type": "ir.actions.act_url",
            "url": f"/sepa_direct_debit/sample_statement/{self.id}",
            "target": "self",
        }

    def action_open_bank_credit(self):
        """Register Bank Credit: the bank's credit of this sent batch, typed in from the
        bank statement (``sepa.bank.credit``), for a company without a bank statement
        import."""
        self.ensure_one()
        self._check_state(("sent",), _("register a bank credit for"))
        return {
            "type": "ir.actions.act_window",
            "name": _("Register Bank Credit"),
            "res_model": "sepa.bank.credit",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_batch_id": self.id},
        }

    def action_send(self):
        self._check_state(("generated",), _("mark as sent"))
        for batch in self:
            if batch._run_in_background("send"):
                continue
            batch._send()
        return True

    def action_cancel(self):
        self._check_state(("draft", "generated", "sent"), _("cancel"))
        self._undo({"state": "cancel"})

    def _undo(self, vals):
        """Cancel these batches (``vals``: their new state and what goes with it): the
        invoices are open again, the entry reversed; nothing the batch did is left (the
        mandates' sequence types follow from the debits, see ``sepa.mandate``)."""
        sent = self.filtered("move_id")
        # Cancelled first: reversing the entry reconciles the transit lines, which must
        # not be taken for the bank's credit.
        self.write({**vals, "job_state": False})
        for batch in sent:  # reopens the invoices, then closes the lines
            self.env["sepa.batch.posting"].cancel(batch)
        (self - sent).line_ids.write({"is_open": False})

    def _reject_by_bank(self, reason, date, origin):
        """The bank rejected the whole file of this sent batch (a status report
        rejecting its message): the batch failed as a whole, before settlement. Undone
        as a cancel (invoices open again for the next proposal, entry reversed, first
        debits stay first), marked *Rejected by the Bank* with ``reason`` (a
        ``sepa.return.reason``); no storno, so no bank charge, fee or storno points: it
        is not the customers' failure. ONE message on the batch says so (``origin``:
        the imported file)."""
        self.ensure_one()
        self._check_state(("sent",), _("mark as rejected by the bank"))
        self.with_context(tracking_disable=True)._undo({
            "state": "rejected", "bank_reject_reason_id": reason.id,
            "bank_reject_date": date})
        self.message_post(body=_(
            "Rejected by the bank on %(date)s: %(reason)s (%(origin)s). The whole file "
            "failed, which is not the customers' failure: the batch is undone as a cancel, "
            "its %(count)s invoices are open again and the next proposal collects them "
            "(first debits stay first); no bank charge, fee or storno points.",
            date=format_date(self.env, date), reason=reason.display_name, origin=origin,
            count=self.line_count))

    # ------------------------------------------------------------------
    # BUSINESS: settlement
    # ------------------------------------------------------------------

    def _transit_lines(self):
        """The debit lines of the batch entries (everything but the invoice credits)."""
        return self.move_id.line_ids.filtered(
            lambda aml: not aml.sepa_batch_line_id and aml.balance > 0)

    def _settle_if_reconciled(self):
        """Settle the sent batches whose transit lines are all reconciled."""
        settled = self.filtered(
            lambda b: b.state == "sent" and b._transit_lines()
            and all(b._transit_lines().mapped("reconciled")))
        settled._settle()
        return settled

    def _settle(self):
        """The bank credited these batches: their debits are collected.

        One read groups the pending lines by collection date; per date one call on the
        mandates (last debit date, sequence type override done with, one-off closed).
        The collected lines make the mandates' next debits Recurring (derived, see
        ``sepa.mandate._sepa_next_sequence_types``). An amendment the settled debit
        reported is done with (see ``_settle_amendments``). The mandates' storno scores
        are reset once the lines are collected (a reset counts while its debit is
        collected); the batches' failed debits get the settlement's place in the score
        log, for a cancellation of their storno.
        """
        if not self:
            return
        Mandate = self.env["sepa.mandate"]
        self._settle_amendments()
        line_ids = []
        for collection_date, lines, mandates in self._settled_rows():
            line_ids += lines
            Mandate.browse(mandates)._register_successful_debit(collection_date)
        lines = self.env["sepa.batch.line"].browse(line_ids)
        self.env["sepa.storno"]._mark_settled_while_failed(self)
        lines.write({"state": "collected", "is_open": False})
        today = fields.Date.context_today(self)
        for batch in self:
            lines.filtered(lambda line, b=batch: line.batch_id == b).mandate_id \
                ._reset_storno_score(batch, today)
        lines.invoice_id._sepa_settle_payment_state()  # 'In Payment' → 'Paid'
        credited = self._bank_credit_dates()
        by_date = defaultdict(list)
        for batch in self:
            by_date[credited.get(batch.id, today)].append(batch.id)
        for date, ids in by_date.items():
            self.browse(ids).write({"state": "done", "settled_date": date})

    def _bank_credit_dates(self):
        """``{batch id: date}``: the date the bank credited each of these batches, the
        latest date of the bank's lines reconciled with its transit lines (a batch
        settled by its stornos alone has none), in one query."""
        self.env["account.move.line"].flush_model(
            ["move_id", "sepa_batch_line_id", "sepa_storno_id", "balance", "date"])
        self.env["account.partial.reconcile"].flush_model(["debit_move_id", "credit_move_id"])
        return dict(self.env.execute_query(SQL(
            """SELECT b.id, MAX(c.date)
                 FROM sepa_batch b
                 JOIN account_move_line t ON t.move_id = b.move_id
                      AND t.sepa_batch_line_id IS NULL AND t.balance > 0
                 JOIN account_partial_reconcile p ON p.debit_move_id = t.id
                 JOIN account_move_line c ON c.id = p.credit_move_id
                      AND c.sepa_storno_id IS NULL AND c.move_id != b.move_id
                WHERE b.id = ANY(%s)
             GROUP BY b.id""", self.ids)))

    def _settled_rows(self):
        """Per collection date of the pending lines of these batches: the line ids and
        the mandate ids."""
        self.env["sepa.batch.line"].flush_model(
            ["batch_id", "state", "collection_date", "mandate_id"])
        return self.env.execute_query(SQL(
            """SELECT l.collection_date, ARRAY_AGG(l.id ORDER BY l.id),
                      ARRAY_AGG(DISTINCT l.mandate_id)
                 FROM sepa_batch_line l
                WHERE l.batch_id = ANY(%s) AND l.state = 'pending'
             GROUP BY l.collection_date
             ORDER BY l.collection_date""", self.ids))

    def _settle_amendments(self, line_ids=None):
        """The bank now knows what the settled debits reported (those of these batches'
        pending lines, or the batch lines ``line_ids``: debits collected after their
        storno was cancelled).

        Only where the mandate's pending amendment is still the one a settled line
        reported (one recorded after the file was generated goes with the next debit):
        cleared when the mandate still debits what the file carried; when the account
        (or reference) changed again since, the file's one becomes the original to
        report next. One read; one write for the cleared ones.
        """
        self.env["sepa.batch.line"].flush_model()
        self.env["sepa.mandate"].flush_model(
            ["original_iban", "original_reference", "name", "partner_bank_id",
             "original_creditor_identifier", "creditor_id"])
        self.env["res.partner.bank"].flush_model(["sanitized_acc_number"])
        self.env["sepa.creditor"].flush_model(["identifier"])
        rows = self.env.execute_query(SQL(
            """SELECT DISTINCT md.id,
                      l.original_iban = md.original_iban,
                      NULLIF(l.amended_iban, bank.sanitized_acc_number),
                      l.original_reference = md.original_reference,
                      NULLIF(l.amended_reference, md.name),
                      l.original_creditor_identifier = md.original_creditor_identifier,
                      NULLIF(l.amended_creditor_identifier, cr.identifier)
                 FROM sepa_batch_line l
                 JOIN sepa_mandate md ON md.id = l.mandate_id
            LEFT JOIN sepa_creditor cr ON cr.id = md.creditor_id
            LEFT JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
                WHERE %s
                  AND (l.original_iban = md.original_iban
                       OR l.original_reference = md.original_reference
                       OR l.original_creditor_identifier = md.original_creditor_identifier)""",
            SQL("l.id = ANY(%s)", line_ids) if line_ids is not None
            else SQL("l.batch_id = ANY(%s) AND l.state = 'pending'", self.ids)))
        updates = defaultdict(list)  # {(field, new value): mandate ids}
        creditor_names = {}
        for (mandate_id, iban_reported, next_iban, reference_reported, next_reference,
             creditor_reported, next_creditor) in rows:
            if iban_reported:
                updates[("original_iban", next_iban or False)].append(mandate_id)
            if reference_reported:
                updates[("original_reference", next_reference or False)].append(mandate_id)
            if creditor_reported:
                # the identifier the settled file carried is what the bank knows now
                updates[("original_creditor_identifier", next_creditor or False)].append(
                    mandate_id)
                creditor_names[next_creditor] = True
        names = self._creditor_names(creditor_names)
        for (fname, value), mandate_ids in sorted(updates.items(), key=str):
            vals = {fname: value}
            if fname == "original_creditor_identifier":
                vals["original_creditor_name"] = names.get(value, False)
            self.env["sepa.mandate"].browse(sorted(set(mandate_ids))).write(vals)

    def _creditor_names(self, identifiers):
        """``{identifier: creditor name}`` of the creditors with these identifiers (the
        name to report with an identifier the bank knows; the oldest creditor's)."""
        identifiers = [identifier for identifier in identifiers if identifier]
        if not identifiers:
            return {}
        creditors = self.env["sepa.creditor"].sudo().with_context(active_test=False).search(
            [("identifier", "in", identifiers)], order="id desc")
        return {creditor.identifier: creditor.name for creditor in creditors}

    # ------------------------------------------------------------------
    # BUSINESS: mandate checks
    # ------------------------------------------------------------------

    def _check_mandates_active(self, action):
        """Refuse ``action`` (a translated verb) when a mandate of a pending line is no
        longer active (revoked, expired or closed after the batch was made): such a
        debit must never reach the bank. One query; the error names the invoices."""
        self.ensure_one()
        self.env["sepa.batch.line"].flush_model(["batch_id", "state", "mandate_id",
                                                 "invoice_id"])
        self.env["sepa.mandate"].flush_model(["name", "state"])
        rows = self.env.execute_query(SQL(
            """SELECT inv.name, md.name, md.state
                 FROM sepa_batch_line l
                 JOIN sepa_mandate md ON md.id = l.mandate_id
                 JOIN account_move inv ON inv.id = l.invoice_id
                WHERE l.batch_id = %s AND l.state = 'pending' AND md.state != 'active'
             ORDER BY l.debit_number, l.id""", self.id))
        if not rows:
            return
        states = dict(self.env["sepa.mandate"]._fields["state"]._description_selection(
            self.env))
        raise UserError(_(
            "Cannot %(action)s %(batch)s: the mandates of these invoices are no longer "
            "active, their debits must not be sent: %(invoices)s. Cancel the batch and "
            "propose again (these invoices stay out), or reactivate the mandates first.",
            action=action, batch=self.name,
            invoices=", ".join(
                _("%(invoice)s (mandate %(mandate)s: %(state)s)",
                  invoice=invoice, mandate=mandate, state=states[state])
                for invoice, mandate, state in rows[:20])))

    # ------------------------------------------------------------------
    # BUSINESS: bank statement matching
    # ------------------------------------------------------------------

    @api.model
    def _match_statement_lines(self, st_lines):
        """Reconcile statement lines that credit a sent batch (or one of its blocks).

        A line matches when its texts contain the PmtInfId of an open transit line and the
        amounts are equal, or the batch reference (MsgId) and the open transit total.
        """
        st_lines = st_lines.filtered(lambda line: not line.is_reconciled and line.amount > 0)
        batches = self.search([("state", "=", "sent"),
                               ("journal_id", "in", st_lines.journal_id.ids)])
        matched = self.browse()
        for st_line in st_lines:
            text = " ".join(filter(None, [st_line.payment_ref, st_line.ref]))
            journal_batches = batches.filtered_domain([("journal_id", "=", st_line.journal_id.id)])
            for batch in journal_batches:
                targets = batch._match_transit_lines(
                    text, st_line._sepa_amount_in(batch.currency_id))
                if targets:
                    batch._reconcile_statement_line(st_line, targets)
                    matched |= batch
                    break
        return matched

    def _match_transit_lines(self, text, amount):
        """The open transit lines a bank credit of ``amount`` (in the batch's currency)
        with ``text`` settles.

        The line of a block whose PmtInfId the text mentions, with the block's open
        amount; else all of them when the text mentions the batch reference (MsgId) and
        the amount is their open total. Open: rejects before settlement are reconciled
        with the transit lines already, the bank credits the rest. Ids are compared as
        whole words (``…-P1`` is not mentioned by ``…-P10``). Amounts in the batch's
        currency (euro), also in a company with another currency.
        """
        transit = self._transit_lines().filtered(lambda aml: not aml.reconciled)
        currency = self.currency_id
        mentioned = [block_id for block_id in set(self.line_ids.mapped("pmt_inf_id"))
                     if block_id and _mentions(text, block_id)]
        for line in transit:
            if any(_mentions(line.name, block_id) for block_id in mentioned) \
                    and currency.compare_amounts(line.amount_residual_currency, amount) == 0:
                return line
        if transit and _mentions(text, self.name) \
                and currency.compare_amounts(sum(transit.mapped("amount_residual_currency")),
                                             amount) == 0:
            return transit
        return self.env["account.move.line"]

    def _reconcile_statement_line(self, st_line, transit_lines):
        """Book the statement line's counterpart on transit and reconcile it."""
        _liquidity, suspense, other = st_line._seek_for_lines()
        if other or len(suspense) != 1:
            return False
        suspense.with_context(skip_account_move_synchronization=True).write(
            {"account_id": transit_lines.account_id.id})
        (suspense | transit_lines).reconcile()
        return True

    def action_match_statements(self):
        """Reconcile the open bank statement lines of the batches' journals: credits of
        the sent batches settle them, debits that mention an end-to-end id of these
        batches are their stornos (``_sepa_register_stornos``)."""
        self._check_state(("sent", "done"), _("match bank statements of"))
        st_lines = self.env["account.bank.statement.line"].search([
            ("journal_id", "in", self.journal_id.ids),
            ("is_reconciled", "=", False),
            ("amount", "!=", 0),
        ])
        matched = self._match_statement_lines(
            st_lines.filtered(lambda line: line.amount > 0))
        stornos = st_lines.filtered(lambda line: line.amount < 0)._sepa_register_stornos(
            batches=self)
        if not matched and not stornos:
            raise UserError(_("No bank statement line matches these batches yet: a credit "
                              "must mention the batch reference or a payment information id "
                              "and have the same amount; a debit (storno) must mention the "
                              "end-to-end id of one of their debits. Without a bank "
                              "statement import: enter the bank's credit with Register Bank "
                              "Credit and the failed debits with Import Return File."))
        return True

    # ------------------------------------------------------------------
    # BACKGROUND JOBS
    # ------------------------------------------------------------------

    def _run_in_background(self, job):
        self.ensure_one()
        if self.job_error:
            self.job_error = False  # tried again: the old error is history (chatter)
        if self.env.context.get("sepa_no_background"):
            return False
        count = self.env["sepa.batch.line"].search_count([("batch_id", "=", self.id)])
        if count <= self.company_id.sepa_background_threshold:
            return False
        self.job_state = job
        self._sepa_enqueue_job()
        return True

    def _sepa_enqueue_job(self):
        """Hand the waiting job of this batch (``job_state``) to the background: the
        cron ``ir_cron_sepa_batch_jobs`` (``_cron_process_jobs``). Hook: the module
        ``sepa_direct_debit_queue_job`` puts it on OCA's job queue instead."""
        self.env.ref("sepa_direct_debit.ir_cron_sepa_batch_jobs")._trigger()

    @api.model
    def _cron_process_jobs(self):
        """Generate or post one waiting batch; the cron runs again while some remain.

        A failing job does not stop the queue: it is undone, reported on its batch and
        the next batch comes next (Odoo runs this again at once while it reports work
        done and remaining). The cron itself does not fail, so Odoo never deactivates it.
        """
        domain = [("job_state", "!=", False)]
        batch = self.search(domain, order="id", limit=1)
        if not batch:
            return
        batch._process_job()
        self.env["ir.cron"]._notify_progress(done=1, remaining=self.search_count(domain))

    def _process_job(self):
        """Run the waiting job of this batch in a savepoint: on failure everything it did
        is rolled back, the job is cleared (the buttons come back) and the error is
        stored and posted in the chatter. Concurrency errors (serialization, lock) are
        left to Odoo, which runs the cron again later."""
        self.ensure_one()
        job = self.job_state
        batch = self.with_context(sepa_no_background=True)
        try:
            with self.env.cr.savepoint():
                if job == "generate":
                    batch._generate_file()
                else:
                    batch._send()
        except OperationalError:
            raise
        except Exception as error:  # noqa: BLE001 -- any failure must not wedge the queue
            self._job_failed(job, error)
        else:
            self.message_post(body=_("Background job finished."))

    def _job_failed(self, job, error):
        if isinstance(error, (UserError, ValidationError)):
            reason = error.args[0]
            _logger.info("SEPA batch %s: background job %s refused: %s", self.name, job, reason)
        else:
            reason = f"{type(error).__name__}: {error}"
            _logger.exception("SEPA batch %s: background job %s failed", self.name, job)
        labels = dict(self._fields["job_state"]._description_selection(self.env))
        self.write({"job_state": False, "job_error": reason})
        self.message_post(body=_(
            "Background job failed (%(job)s), nothing was changed: %(reason)s",
            job=labels[job], reason=reason))


def _address(country, street, postcode, town):
    """The postal address of a partner from its country code, street, zip and city."""
    if not country:
        return None
    return Address(
        country=country,
        street=street or None,
        postcode=postcode or None,
        town=town or None,
    )

