"""Failed debits (stornos): one record per failed debit, its accounting and its score.

``register`` is the one entry point (return files, statement lines, by hand): set-wise,
one entry per call through ``sepa.storno.posting.book_stornos``.
"""


import json
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, format_date
from odoo.tools.mail import generate_tracking_message_id

from ..bulk import insert_records
from ..sepa.calendar import representation_date
from .mail_message import MESSAGES

KINDS = [
    ("reject", "Reject"),
    ("return", "Return"),
    ("refund", "Refund"),
    ("reversal", "Reversal"),
]
SOURCES = [("file", "Return File"), ("statement", "Bank Statement"), ("manual", "By Hand")]
# A registration needing more fee invoices than this leaves them to a background job
# (Odoo creates and posts an invoice in about 21 queries: 1,000 take minutes).
FEE_INVOICES_AT_ONCE = 100


class _FeeInvoiceAccepted(Exception):
    """Rolls back a fee invoice made only to find the one Odoo refuses."""


class SepaStorno(models.Model):
    _name = "sepa.storno"
    _description = "SEPA Direct Debit Storno (Failed Debit)"
    _inherit = ["mail.thread", "sepa.state.mixin", "sepa.company.check.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference", required=True, copy=False,
        help="End-to-end id of the failed debit and the reason code.")
    batch_line_id = fields.Many2one(
        "sepa.batch.line", string="Debit", index="btree_not_null", ondelete="restrict",
        check_company=True,
        help="The (first) batch line of the failed debit; merged invoices share the debit.")
    batch_id = fields.Many2one(
        related="batch_line_id.batch_id", store=True, index="btree_not_null",
        string="Batch", help="Batch the failed debit was collected in.")
    invoice_ids = fields.Many2many(
        "account.move", "sepa_storno_invoice_rel", "storno_id", "invoice_id",
        string="Invoices", check_company=True,
        help="Every invoice of the failed debit: they are open again.")
    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", index="btree_not_null", check_company=True,
        help="Mandate of the failed debit; its storno score counts this storno.")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", index="btree_not_null",
        help="Debtor of the failed debit.")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company,
        help="Creditor company.")
    end_to_end_id = fields.Char(
        string="End-to-End Id", index="btree_not_null",
        help="Identifier of the failed debit, as sent to the bank and returned by it.")
    mandate_reference = fields.Char(
        help="Mandate reference given by the bank (kept for unmatched transactions).")
    debited_iban = fields.Char(
        string="Debited IBAN", readonly=True, copy=False,
        help="The debtor's IBAN the failed debit was drawn on (the mandate's account "
        "then). A reason that needs a new account or mandate is not retried while the "
        "mandate still has this account.")
    date = fields.Date(
        required=True, default=fields.Date.context_today,
        help="Date of the R-transaction (reject, return, refund or reversal).")
    booking_date = fields.Date(
        help="Date of the storno entry: the date the bank booked it.")
    amount = fields.Monetary(help="Amount of the failed debit.")
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.ref("base.EUR"),
        help="Currency of the debit (euro).")
    reason_code = fields.Char(
        help="Reason code as the bank gave it (ISO 20022, e.g. AM04).")
    reason_id = fields.Many2one(
        "sepa.return.reason", string="Reason", index="btree_not_null",
        help="Return reason of the code, with its storno points.")
    kind = fields.Selection(
        KINDS, required=True, default="return",
        help="Reject: refused before settlement (the bank's credit is reduced). Return: "
        "sent back by the debtor's bank after settlement. Refund: the debtor asked his "
        "money back. Reversal: the creditor's side cancelled a settled debit.")
    after_settlement = fields.Boolean(
        readonly=True, copy=False,
        help="The debit failed after it was settled: a return, refund or reversal, or a "
        "reject of a batch the bank had credited already. For the bank a first debit then "
        "took place: the mandate's next debit is Recurring.")
    source = fields.Selection(
        SOURCES, required=True, default="manual",
        help="Where the storno came from: a return file, a bank statement line or "
        "registered by hand.")
    import_ref = fields.Char(
        string="Imported File Identity", index="btree_not_null",
        help="Identity of the imported file: the SHA-256 of its bytes and its name (the "
        "same file imported again is recognised by it).")
    import_filename = fields.Char(
        string="Imported File", compute="_compute_import_filename",
        help="Name of the return file the failed debit was imported from.")
    return_msg_id = fields.Char(
        string="Return File Message Id",
        help="Message identifier of the bank's return file the failed debit was imported "
        "from: a bank statement line that names it is reconciled with the file's failed "
        "debits.")
    transaction_ref = fields.Char(
        string="Bank Transaction Id",
        help="The bank's identifier of the R-transaction.")
    statement_line_id = fields.Many2one(
        "account.bank.statement.line", string="Statement Line", index="btree_not_null",
        check_company=True, help="Bank statement line that booked the storno.")
    charge_amount = fields.Monetary(
        string="Bank Charge", help="Charge the bank took for the failed debit.")
    move_id = fields.Many2one(
        "account.move", string="Storno Entry", readonly=True, copy=False,
        index="btree_not_null", check_company=True,
        help="Entry that reopened the invoices and booked the failed debit.")
    cancel_move_id = fields.Many2one(
        "account.move", string="Cancellation Entry", readonly=True, copy=False,
        check_company=True, help="Reversal of the storno entry when it was cancelled.")
    state = fields.Selection(
        [("done", "Registered"), ("cancelled", "Cancelled"), ("unmatched", "Unmatched")],
        required=True, default="done", index=True, tracking=True,
        help="Registered: the invoices are open again. Cancelled: undone. Unmatched: a "
        "transaction of an imported file that matches no debit, kept to match by hand.")
    raw_data = fields.Json(
        string="Raw Values", help="The transaction's values as read (unmatched ones).")
    release_state = fields.Selection(
        [("none", "To Release"), ("retry", "Retry"), ("hold", "Held"),
         ("out", "Out of Direct Debit")],
        string="Release", required=True, default="none", index=True, tracking=True,
        help="To Release: the invoices are not collected again until someone decides. "
        "Retry: collectable again (next proposal). Held: kept out, with a note. Out of "
        "Direct Debit: the invoices are paid another way (on direct debit hold).")
    hold_note = fields.Char(
        help="Why the invoices of this failed debit are held.")
    represent_date = fields.Date(
        string="Planned Re-presentation", readonly=True, copy=False,
        help="The date the company's re-presentation policy collects the invoices again: "
        "the first collection date on or after the payday. No proposal collects them "
        "earlier. Empty: no re-presentation planned (the next proposal takes a retried "
        "failed debit).")
    released_by_policy = fields.Boolean(
        string="Released by the Policy", readonly=True, copy=False,
        help="The company's re-presentation policy released this failed debit for retry "
        "(planned re-presentation) or held it (the maximum was reached) when it was "
        "registered; the control after reconciliation shows it until processed.")
    points = fields.Integer(
        readonly=True, copy=False,
        help="Storno points this storno added to the mandate's score.")
    settlement_position = fields.Integer(
        string="Settlement Position", readonly=True, copy=False,
        help="Technical: set when the batch was settled while this debit had failed, "
        "the place of that settlement in the mandate's storno score log. Cancelling the "
        "storno collects the debit after all and records the settlement's reset there.")
    sequence_type_chosen = fields.Selection(
        [("first", "First"), ("recurring", "Recurring")], readonly=True, copy=False,
        string="Sequence Type Chosen",
        help="The sequence type the control after reconciliation set on the mandate after "
        "this failed first debit. Cancelling the storno restores the one before while "
        "the mandate still has the chosen one.")
    sequence_type_before = fields.Selection(
        [("first", "First"), ("recurring", "Recurring")], readonly=True, copy=False,
        string="Sequence Type Before",
        help="The mandate's sequence type override before the control after "
        "reconciliation set one after this failed first debit (empty: none).")
    event_ids = fields.One2many(
        "sepa.storno.event", "storno_id", string="Score Events",
        help="Changes of the mandate's storno score caused by this storno.")

    fee_line_ids = fields.One2many(
        "account.move.line", "sepa_fee_storno_id", string="Fee Lines", readonly=True,
        help="Invoice lines re-invoicing this storno's fee to the customer (and the "
        "credit note line when the storno was cancelled).")
    fee_invoice_id = fields.Many2one(
        "account.move", string="Fee Invoice", compute="_compute_fee_invoice_id", store=True,
        index="btree_not_null", check_company=True,
        help="Customer invoice of this failed debit's storno fee (company setting "
        "'Re-invoice storno fees to the customer'), collected with the next batch.")
    fee_pending = fields.Boolean(
        string="Fee to Invoice", readonly=True, copy=False, index="btree_not_null",
        help="The fee invoice of this storno is being made by the background job 'SEPA: "
        "storno fee invoices' (registrations with many customers at once).")

    def init(self):
        # One done storno per debit (no invoice reopened twice, also when two users
        # import at the same moment) and one per bank transaction.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS sepa_storno_done_line_uniq
            ON sepa_storno (batch_line_id) WHERE state = 'done';
            CREATE UNIQUE INDEX IF NOT EXISTS sepa_storno_transaction_uniq
            ON sepa_storno (company_id, transaction_ref)
            WHERE transaction_ref IS NOT NULL AND transaction_ref != ''
              AND state != 'cancelled';
        """)

    @api.depends("fee_line_ids.move_id.move_type")
    def _compute_fee_invoice_id(self):
        for storno in self:
            storno.fee_invoice_id = storno.fee_line_ids.move_id.filtered(
                lambda move: move.move_type == "out_invoice")[:1]

    @api.depends("import_ref")
    def _compute_import_filename(self):
        for storno in self:
            ref = storno.import_ref or ""
            # "sha256:<hex> <name>"; an identity without a name shows nothing
            storno.import_filename = ref.split(" ", 1)[1] if " " in ref else False

    @api.depends("name", "invoice_ids")
    def _compute_display_name(self):
        for storno in self:
            storno.display_name = storno.name

    @api.ondelete(at_uninstall=False)
    def _unlink_only_cancelled_or_unmatched(self):
        if any(storno.state == "done" for storno in self):
            raise UserError(_("A registered storno cannot be deleted: cancel it first."))

    # ------------------------------------------------------------------
    # REGISTRATION (the storno API, see DEVELOPERS.md, "Registering stornos")
    # ------------------------------------------------------------------

    @api.model
    def register(self, vals_list):
        """Register failed debits, set-wise; return the stornos (state 'done').

        Each dict: ``batch_line_id`` (any line of the debit), ``reason_code``, ``kind``,
        ``date``, optional ``booking_date``, ``amount`` (must be the debit's),
        ``charge_amount`` (default: the company's for a debtor's failure, see
        ``_prepare_charges``), ``source``, ``import_ref``, ``return_msg_id``,
        ``transaction_ref``, ``statement_line_id``. One ``create``, one entry per bank
        journal and booking date (``sepa.storno.posting.book_stornos``), then the storno
        scores. Refused, nothing changed, when a debit already failed or its batch is
        neither sent nor settled.
        """
        if not vals_list:
            return self.browse()
        debits = self._debit_rows([vals["batch_line_id"] for vals in vals_list])
        self._check_registrable(vals_list, debits)
        reasons = self.env["sepa.return.reason"]._get_or_create(
            vals.get("reason_code") for vals in vals_list)
        create_list = [self._prepare_vals(vals, debits[vals["batch_line_id"]], reasons)
                       for vals in vals_list]
        self._prepare_charges(create_list)
        self._prepare_points(create_list)
        self.env["sepa.storno.posting"]._storno_draft_entries(create_list, [
            debits[vals["batch_line_id"]]["journal_id"] for vals in vals_list])
        stornos = self._create_guarded(create_list, bulk=True)
        del create_list, debits  # tens of megabytes for a large return file
        self.env["sepa.storno.posting"].book_stornos(stornos)
        stornos._add_to_score()
        stornos._sepa_invoice_fees()
        stornos._update_one_off_mandates()
        stornos._flag_invalid_accounts()
        stornos._represent_after_payday()
        stornos._log_on_invoices()
        self.env["sepa.storno.mail"].notify(stornos)
        return stornos

    @api.model
    def _prepare_charges(self, create_list):
        """Set in ``create_list`` each storno's bank charge: the one the bank gave (the
        file's, the statement line's, the one typed), else the company's *Default Storno
        Charge* where the reason is the debtor's failure (``_consequences_of``), else
        none: a creditor's or a bank's failure is never charged by default."""
        answers = self._consequences_of(create_list)
        Company, Currency = self.env["res.company"], self.env["res.currency"]
        defaults = {}
        for vals in create_list:
            company = Company.browse(vals["company_id"])
            currency = Currency.browse(vals["currency_id"])
            charge = vals["charge_amount"]
            if charge is None and answers[company.id, vals["reason_id"]].charge:
                # the company's default is in its currency: the debit's at the storno's date
                key = (company.id, currency.id, vals["date"])
                if key not in defaults:
                    defaults[key] = company.currency_id._convert(
                        company.sepa_storno_charge_amount, currency, company, vals["date"])
                charge = defaults[key]
            vals["charge_amount"] = currency.round(charge or 0.0)

    @api.model
    def _prepare_points(self, create_list):
        """Set in ``create_list`` the points each storno adds to its mandate's score (as
        ``_add_to_score`` counts them): written when they are created, not updated
        after (an UPDATE costs about 0.2 ms a storno)."""
        scored = [vals for vals in create_list if vals.get("mandate_id")]
        points = self._score_points_of(scored)
        for vals in scored:
            vals["points"] = points[vals["company_id"], vals["reason_id"]]

    @api.model
    def register_unmatched(self, vals_list):
        """Keep transactions of an imported file that match no debit (state 'unmatched'),
        with their raw values, to match by hand later."""
        reasons = self.env["sepa.return.reason"]._get_or_create(
            vals.get("reason_code") for vals in vals_list)
        return self._create_guarded([{
            "name": " ".join(filter(None, [vals.get("end_to_end_id") or _("Unmatched"),
                                           vals.get("reason_code")])),
            "state": "unmatched",
            "end_to_end_id": vals.get("end_to_end_id"),
            "mandate_reference": vals.get("mandate_reference"),
            "amount": vals.get("amount"),
            "reason_code": (vals.get("reason_code") or "").strip().upper() or False,
            "reason_id": reasons[(vals.get("reason_code") or "").strip().upper()
                                 or "NONE"].id,
            "kind": vals.get("kind") or "return",
            "date": vals.get("date") or fields.Date.context_today(self),
            "source": vals.get("source") or "file",
            "import_ref": vals.get("import_ref"),
            "transaction_ref": vals.get("transaction_ref"),
            "raw_data": vals.get("raw_data"),
            "company_id": vals.get("company_id") or self.env.company.id,
        } for vals in vals_list])

    def action_open_match(self):
        """Open "Match to a Debit" for this unmatched transaction."""
        self.ensure_one()
        self._check_state(("unmatched",), _("match"))
        return {
            "type": "ir.actions.act_window",
            "res_model": "sepa.storno.register",
            "views": [(self.env.ref("sepa_direct_debit.view_sepa_storno_match_form").id,
                       "form")],
            "target": "new",
            "name": _("Match to a Debit"),
            "context": {"default_storno_id": self.id},
        }

    def _suggested_debit(self):
        """The first line of the one debit of a sent or settled batch of the company that
        this transaction's end-to-end id, else its mandate reference and amount, name;
        else no line. One search."""
        self.ensure_one()
        keys = []
        if self.end_to_end_id:
            keys.append([("end_to_end_id", "=", self.end_to_end_id)])
        if self.mandate_reference and self.amount:
            keys.append([("mandate_id.name", "=", self.mandate_reference),
                         ("amount", "=", self.amount)])
        if not keys:
            return self.env["sepa.batch.line"]
        lines = self.env["sepa.batch.line"].search(expression.AND([
            [("company_id", "=", self.company_id.id), ("batch_id.state", "in", ("sent", "done")),
             ("state", "in", ("pending", "collected"))],
            expression.OR(keys)]), limit=20)
        debits = {(line.batch_id, line.end_to_end_id) for line in lines}
        return lines[:1] if len(debits) == 1 else self.env["sepa.batch.line"]

    def _match_to_debit(self, batch_line, **values):
        """Register this unmatched transaction as the failed debit of ``batch_line``
        (``values``: reason_code, kind, date, charge_amount as chosen by the user; by
        default the transaction's). The registered storno replaces the unmatched one,
        with its file and bank references (a transaction is registered once)."""
        self.ensure_one()
        self._check_state(("unmatched",), _("match"))
        # what the user may do to this transaction: a direct debit user changes it, a
        # manager only may delete stornos; the replaced record is deleted as superuser
        self.check_access("write")
        if batch_line.company_id != self.company_id:
            raise UserError(_("Transaction %(storno)s can only be matched to a debit of its "
                              "company.", storno=self.name))
        vals = {
            "batch_line_id": batch_line.id, "reason_code": self.reason_code,
            "kind": self.kind, "date": self.date, "source": self.source,
            "import_ref": self.import_ref, "transaction_ref": self.transaction_ref,
            **({"amount": self.amount} if self.amount else {}),
            **({"charge_amount": self.charge_amount} if self.charge_amount else {}),
            **values,
        }
        with self.env.cr.savepoint():  # a refused registration keeps the transaction
            self.sudo().unlink()
            return self.register([vals])

    @api.model
    def _create_guarded(self, vals_list, bulk=False):
        """``create``; a clear error when another user registered one of these debits or
        bank transactions at the same moment (the unique indexes). ``bulk``: in one
        INSERT (``_create_bulk``)."""
        from psycopg2.errors import UniqueViolation
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                if bulk:
                    stornos = self._create_bulk(vals_list)
                else:
                    stornos = self.with_context(
                        mail_create_nolog=True, mail_create_nosubscribe=True,
                    ).create(vals_list)
                self.env.flush_all()
        except UniqueViolation:
            raise UserError(_(
                "Some of these failed debits or bank transactions were registered by "
                "another user meanwhile; nothing was registered. Try again: those are "
                "then skipped.")) from None
        return stornos

    @api.model
    def _create_bulk(self, vals_list):
        """``create`` of registered stornos in one INSERT (and one for their invoices):
        the ORM's create costs about 2.5 ms a storno (company checks of the invoices,
        mail). Their batch line, invoices, mandate, customer and company come from one
        batch line, checked when it was made; a statement line is checked here."""
        invoice_ids = [vals.pop("invoice_ids")[0][2] for vals in vals_list]
        stornos = insert_records(self, vals_list)
        pairs = [(storno_id, invoice_id)
                 for storno_id, ids in zip(stornos.ids, invoice_ids, strict=True)
                 for invoice_id in ids]
        self.env.execute_query(SQL(
            """INSERT INTO sepa_storno_invoice_rel (storno_id, invoice_id)
               SELECT * FROM unnest(%s::int[], %s::int[])""",
            [pair[0] for pair in pairs], [pair[1] for pair in pairs]))
        stornos.invalidate_recordset(["invoice_ids"])
        self.env["account.move"].invalidate_model(["sepa_storno_ids"])
        stornos.modified(["invoice_ids"])
        stornos.filtered("statement_line_id")._check_company(["statement_line_id"])
        return stornos

    @api.model
    def _debit_rows(self, line_ids):
        """Per given batch line id, its debit (every line sharing its end-to-end id in
        its batch), in one query."""
        self.env.flush_all()
        rows = self.env.execute_query_dict(SQL("""
            SELECT l.id AS given_id, b.id AS batch_id, b.name AS batch_name,
                   b.state AS batch_state, b.company_id, b.currency_id, b.journal_id,
                   l.end_to_end_id, MIN(o.id) AS first_line_id,
                   ARRAY_AGG(o.id ORDER BY o.id) AS line_ids,
                   ARRAY_AGG(o.invoice_id ORDER BY o.id) AS invoice_ids,
                   STRING_AGG(inv.name, ', ' ORDER BY o.id) AS invoice_names,
                   SUM(o.amount) AS amount, MIN(o.mandate_id) AS mandate_id,
                   MIN(o.partner_id) AS partner_id,
                   BOOL_AND(o.state IN ('pending', 'collected')) AS registrable,
                   -- the account debited: the amended one the file reported, else the
                   -- mandate's before a change since (pending amendment), else its own
                   UPPER(REPLACE(COALESCE(MIN(o.amended_iban), md.original_iban,
                                          bank.sanitized_acc_number), ' ', ''))
                       AS debited_iban
              FROM sepa_batch_line l
              JOIN sepa_batch b ON b.id = l.batch_id
              JOIN sepa_batch_line o ON o.batch_id = l.batch_id
                                    AND o.end_to_end_id = l.end_to_end_id
              JOIN account_move inv ON inv.id = o.invoice_id
         LEFT JOIN sepa_mandate md ON md.id = l.mandate_id
         LEFT JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
             WHERE l.id = ANY(%s)
             GROUP BY l.id, b.id, md.id, bank.id
        """, list(set(line_ids))))
        return {row["given_id"]: row for row in rows}

    @api.model
    def _check_registrable(self, vals_list, debits):
        missing = [vals["batch_line_id"] for vals in vals_list
                   if vals["batch_line_id"] not in debits]
        if missing:
            raise UserError(_("These direct debits do not exist (any more): %(ids)s",
                              ids=", ".join(map(str, missing[:20]))))
        lines = self.env["sepa.batch.line"].browse(
            {row["first_line_id"] for row in debits.values()})
        lines.check_access("write")
        states = dict(self.env["sepa.batch"]._fields["state"]._description_selection(
            self.env))
        problems, seen = [], set()
        kinds = dict(KINDS)
        for vals in vals_list:
            row = debits[vals["batch_line_id"]]
            currency = self.env["res.currency"].browse(row["currency_id"])
            # the debit is named only when it cannot fail (``_`` costs about 1 ms a call)
            debit = lambda row=row: _(  # noqa: E731
                "%(debit)s (%(invoices)s, batch %(batch)s)", debit=row["end_to_end_id"],
                invoices=row["invoice_names"], batch=row["batch_name"])
            if row["batch_state"] not in ("sent", "done"):
                problems.append(_("%(debit)s: the batch is %(state)s, not sent or settled",
                                  debit=debit(), state=states[row["batch_state"]]))
            elif not row["registrable"] or row["first_line_id"] in seen:
                problems.append(_("%(debit)s: registered as failed already", debit=debit()))
            elif vals.get("amount") is not None and currency.compare_amounts(
                    vals["amount"], row["amount"]) != 0:
                problems.append(_("%(debit)s: amount %(amount)s is not the debit's "
                                  "%(debit_amount)s", debit=debit(), amount=vals["amount"],
                                  debit_amount=row["amount"]))
            if vals.get("kind") not in kinds:
                problems.append(_("%(debit)s: unknown kind %(kind)s", debit=debit(),
                                  kind=vals.get("kind")))
            seen.add(row["first_line_id"])
        if problems:
            raise UserError(_("No storno was registered; these debits cannot fail:\n%(list)s",
                              list="\n".join(problems[:20])))

    @api.model
    def _prepare_vals(self, vals, row, reasons):
        code = (vals.get("reason_code") or "").strip().upper() or "NONE"
        date = vals.get("date") or fields.Date.context_today(self)
        return {
            "name": f"{row['end_to_end_id']} {code}",
            "batch_line_id": row["first_line_id"],
            "invoice_ids": [Command.set(row["invoice_ids"])],
            "mandate_id": row["mandate_id"],
            "partner_id": row["partner_id"],
            "company_id": row["company_id"],
            "currency_id": row["currency_id"],
            "end_to_end_id": row["end_to_end_id"],
            "debited_iban": row["debited_iban"],
            "date": date,
            "booking_date": vals.get("booking_date") or date,
            "amount": row["amount"],
            "reason_code": code,
            "reason_id": reasons[code].id,
            "kind": vals["kind"],
            "after_settlement": vals["kind"] != "reject" or row["batch_state"] == "done",
            "source": vals.get("source") or "manual",
            "import_ref": vals.get("import_ref"),
            "transaction_ref": vals.get("transaction_ref"),
            "return_msg_id": vals.get("return_msg_id"),
            "statement_line_id": vals.get("statement_line_id"),
            "charge_amount": vals.get("charge_amount"),  # None: see _prepare_charges
            "state": "done",
            "release_state": "none",
            "batch_id": row["batch_id"],
            # no fee line yet (the fee invoices follow): not recomputed for each storno
            "fee_invoice_id": False,
        }

    def _batch_lines(self):
        """Every batch line of the failed debits of these stornos."""
        self.flush_recordset(["batch_line_id"])
        return self.env["sepa.batch.line"].browse(row[0] for row in self.env.execute_query(SQL(
            """SELECT o.id FROM sepa_storno s
                 JOIN sepa_batch_line l ON l.id = s.batch_line_id
                 JOIN sepa_batch_line o ON o.batch_id = l.batch_id
                                       AND o.end_to_end_id = l.end_to_end_id
                WHERE s.id = ANY(%s) ORDER BY o.id""", self.ids)))

    # ------------------------------------------------------------------
    # CANCEL
    # ------------------------------------------------------------------

    def action_cancel(self):
        """Undo these stornos: the state before them. The invoices are reconciled with
        their batch credit again, the storno lines reversed, the batch lines back (a
        debit of a batch settled since is collected, with what the settlement does), the
        control's choices undone and the score computed again without them."""
        self._check_state(("done",), _("cancel"))
        self._sepa_credit_fees()
        before = self._score_before_cancel()
        self.env["sepa.storno.posting"].cancel_stornos(self)
        self._undo_control()
        self._collect_after_settlement()
        self._remove_from_score(before)
        self._update_one_off_mandates()
        return True

    def _update_one_off_mandates(self):
        """The state of the one-off mandates of these stornos (registered or cancelled).

        A one-off mandate is used once its debit was collected: closed. A debit that
        failed after settlement was used too, unless the company reuses one-off mandates
        after a storno (setting *Reuse One-off Mandate After Storno*): then the mandate is
        active again for one more attempt, after its first such storno only. A reject
        before settlement never used it. Revoked and expired mandates are left alone.
        """
        self.env.flush_all()
        # one query, not the ORM: it would read every field of every storno and mandate
        mandates = self.env["sepa.mandate"].browse(row[0] for row in self.env.execute_query(SQL(
            """SELECT DISTINCT md.id FROM sepa_storno s JOIN sepa_mandate md
                                         ON md.id = s.mandate_id
                WHERE s.id = ANY(%s) AND md.mandate_type = 'one_off'
                  AND md.state IN ('active', 'closed')""", self.ids)))
        if not mandates:
            return
        rows = self.env.execute_query(SQL(
            """SELECT md.id,
                      EXISTS (SELECT 1 FROM sepa_batch_line l
                               WHERE l.mandate_id = md.id AND l.state = 'collected'),
                      (SELECT COUNT(*) FROM sepa_storno s
                        WHERE s.mandate_id = md.id AND s.state = 'done'
                          AND s.after_settlement)
                 FROM sepa_mandate md WHERE md.id = ANY(%s)""", mandates.ids))
        closed = []
        for mandate_id, collected, failed in rows:
            mandate = mandates.browse(mandate_id)
            reuse = mandate.company_id.sepa_oneoff_reuse_after_storno
            if collected or failed > (1 if reuse else 0):
                closed.append(mandate_id)
        to_close = mandates.browse(closed).filtered(lambda m: m.state == "active")
        to_open = (mandates - mandates.browse(closed)).filtered(lambda m: m.state == "closed")
        to_close.write({"state": "closed"})
        to_open.write({"state": "active"})

    # ------------------------------------------------------------------
    # STORNO FEES (company setting "Re-invoice storno fees to the customer")
    # ------------------------------------------------------------------

    def _sepa_invoice_fees(self):
        """Re-invoice the fees of these new stornos to their customers, where the
        company says so: ONE ``create`` of one invoice per company and customer with a
        line per storno (the bank charge, or the fee product's sales price when the bank
        charged nothing; no line when both are 0), posted. More invoices than
        ``FEE_INVOICES_AT_ONCE`` are left to the background job (``fee_pending``), in
        the same groups. Return the invoices made."""
        groups = self._fee_groups() if self._fee_companies() else {}
        if len(groups) > FEE_INVOICES_AT_ONCE:
            pending = self.browse(
                storno.id for stornos in groups.values() for storno in stornos)
            pending.write({"fee_pending": True})
            pending._sepa_enqueue_fee_invoices()
            return self.env["account.move"]
        return self._create_fee_invoices(groups.values())

    def _fee_companies(self):
        """The companies of these stornos that re-invoice storno fees (one query: most
        registrations need no fee invoice, and their stornos are not read)."""
        self.flush_recordset(["company_id"])
        companies = self.env["res.company"].browse(row[0] for row in self.env.execute_query(
            SQL("SELECT DISTINCT company_id FROM sepa_storno WHERE id = ANY(%s)", self.ids)))
        return companies.filtered(
            lambda company: company.sepa_storno_fee_invoice
            and company.sepa_storno_fee_product_id)

    def _fee_groups(self):
        """``{(company, customer, registration time): [storno, ...]}`` of the stornos
        whose fee is to invoice (one registration: one create_date): a debtor's failure
        only (``_consequences_of``)."""
        answers = self._consequences_of([
            {"company_id": storno.company_id.id, "reason_id": storno.reason_id.id}
            for storno in self if storno.reason_id])
        groups = defaultdict(list)
        for storno in self:
            company = storno.company_id
            product = company.sepa_storno_fee_product_id
            answer = answers.get((company.id, storno.reason_id.id))
            if storno.state == "done" and not storno.fee_invoice_id \
                    and company.sepa_storno_fee_invoice and product \
                    and (answer is None or answer.fee) \
                    and (storno.charge_amount or product.lst_price):
                groups[company, storno.partner_id, storno.create_date].append(storno)
        return groups

    @api.model
    def _create_fee_invoices(self, groups):
        """One posted fee invoice per list of stornos in ``groups``, in one create. When
        Odoo refuses them (e.g. the fee product's tax is of another country than the
        company's fiscal country), the error names the fee invoice that fails."""
        if not groups:
            return self.env["account.move"]
        labels = self.browse(storno.id for stornos in groups
                             for storno in stornos)._fee_labels()
        Move = self.env["account.move"].with_context(
            mail_create_nolog=True, mail_create_nosubscribe=True)
        try:
            with self.env.cr.savepoint():
                invoices = Move.create([
                    self.browse(storno.id for storno in stornos)._prepare_fee_invoice_vals(
                        labels) for stornos in groups])
                invoices.action_post()
        except UserError as error:  # a ValidationError too
            raise self._fee_invoice_error(Move, groups, labels, error) from error
        return invoices

    @api.model
    def _fee_invoice_error(self, Move, groups, labels, error):
        """The UserError naming the first fee invoice of ``groups`` Odoo refuses: its
        customer, failed debits and product. Only on the error path: each invoice is
        made and posted alone, then rolled back."""
        for stornos in groups:
            stornos = self.browse(storno.id for storno in stornos)
            try:
                with self.env.cr.savepoint():
                    Move.create([stornos._prepare_fee_invoice_vals(labels)]).action_post()
                    raise _FeeInvoiceAccepted
            except _FeeInvoiceAccepted:
                continue
            except UserError as own_error:
                return UserError(_(
                    "Storno fee invoice for %(customer)s (failed debits %(debits)s, "
                    "product %(product)s) refused: %(error)s",
                    customer=stornos.partner_id.display_name,
                    debits=", ".join(stornos.mapped("end_to_end_id")),
                    product=stornos.company_id.sepa_storno_fee_product_id.display_name,
                    error=own_error.args[0]))
        return UserError(_("The storno fee invoices were refused: %(error)s",
                           error=error.args[0]))

    def _sepa_enqueue_fee_invoices(self):
        """Hand the fee invoices of these stornos (``fee_pending``) to the background:
        the cron ``ir_cron_sepa_storno_fees`` (``_cron_invoice_fees``). Hook: the module
        ``sepa_direct_debit_queue_job`` puts them on OCA's job queue instead."""
        self.env.ref("sepa_direct_debit.ir_cron_sepa_storno_fees")._trigger()

    @api.model
    def _cron_invoice_fees(self, limit=FEE_INVOICES_AT_ONCE):
        """Background job: the fee invoices left by large registrations, ``limit``
        invoices a run (one create), then again until none is left."""
        pending = self.search([("fee_pending", "=", True)], order="id")
        groups = list(pending._fee_groups().values())
        self._create_fee_invoices(groups[:limit])
        left = {storno.id for stornos in groups[limit:] for storno in stornos}
        pending.filtered(lambda storno: storno.id not in left).write({"fee_pending": False})
        if left:
            self.env.ref("sepa_direct_debit.ir_cron_sepa_storno_fees")._trigger()

    def _prepare_fee_invoice_vals(self, labels):
        """Values of the fee invoice of ``self``: stornos of one company and customer.

        The invoice is collected under the stornos' mandate when it is still an active
        recurring mandate; otherwise it has none (a one-off mandate authorises only its
        own invoice: customers with one mandate per invoice get a new one to sign when
        the invoice is posted, as for any invoice). Taxes and, without a bank charge,
        the price are Odoo's: the product's, mapped by the customer's fiscal position.
        """
        company, partner = self.company_id, self.partner_id
        product = company.sepa_storno_fee_product_id
        mandate = self.mandate_id.filtered(
            lambda m: m.state == "active" and m.mandate_type == "recurring"
        ).sorted("id")[-1:]
        return {
            "move_type": "out_invoice",
            "company_id": company.id,
            "partner_id": partner.id,
            "currency_id": self.currency_id[:1].id,
            "invoice_date": fields.Date.context_today(self),
            "invoice_origin": ", ".join(self.mapped("name"))[:500],
            "sepa_mandate_id": mandate.id,
            "invoice_line_ids": [Command.create({
                "product_id": product.id,
                "name": labels[storno.id],
                "quantity": 1,
                "sepa_fee_storno_id": storno.id,
                **({"price_unit": storno.charge_amount} if storno.charge_amount else {}),
            }) for storno in self],
        }

    def _fee_labels(self):
        """``{storno id: label of its fee line}`` in its customer's language: one
        environment (and prefetch) per language, not one per storno."""
        by_lang = defaultdict(list)
        for storno in self:
            by_lang[storno.partner_id.lang or self.env.lang].append(storno.id)
        return {storno.id: storno._fee_label()
                for lang, ids in by_lang.items()
                for storno in self.browse(ids).with_context(lang=lang)}

    def _fee_label(self):
        """Invoice line label naming the failed debit, in the context's language: the
        product's name, then on the next line the debit (as Odoo labels a product line
        with its description; the invoice form shows the product and the description
        below it, without repeating the name)."""
        self.ensure_one()
        env = self.env
        product = self.company_id.sepa_storno_fee_product_id
        description = env._(
            "Direct debit %(debit)s of invoice %(invoices)s failed on %(date)s "
            "(%(code)s %(reason)s)",
            debit=self.end_to_end_id, invoices=", ".join(self.invoice_ids.mapped("name")),
            date=format_date(env, self.date), code=self.reason_code,
            reason=self.reason_id.name or "")
        return f"{product.display_name}\n{description}" if product else description

    def _sepa_credit_fees(self):
        """Cancelling stornos: credit their fee lines. One credit note per fee invoice
        with the cancelled stornos' lines, posted and reconciled with the invoice.

        Refused (nothing changed) while a fee invoice is in an open direct debit batch or
        paid, fully or partly (its open amount is less than the fees to credit): the
        customer paid the fee; refund it by hand first. A fee invoice the user already
        cancelled or reversed is left alone.
        """
        lines = self.fee_line_ids.filtered(
            lambda line: line.move_id.move_type == "out_invoice"
            and line.move_id.state == "posted" and line.move_id.payment_state != "reversed")
        if not lines:
            return self.env["account.move"]
        by_invoice = defaultdict(lambda: self.env["account.move.line"])
        for line in lines:
            by_invoice[line.move_id] += line
        self._check_fees_creditable(by_invoice)
        refunds = self.env["account.move"].with_context(
            mail_create_nolog=True, mail_create_nosubscribe=True,
        ).create([self._prepare_fee_refund_vals(invoice, invoice_lines)
                  for invoice, invoice_lines in by_invoice.items()])
        refunds.action_post()
        pairs = []
        for refund, invoice in zip(refunds, by_invoice, strict=True):
            pairs.append((refund | invoice).line_ids.filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
                and not line.reconciled))
        self.env["account.move.line"]._reconcile_plan(pairs)
        return refunds

    def _check_fees_creditable(self, by_invoice):
        summary = self.env["account.move"].browse(
            invoice.id for invoice in by_invoice)._sepa_batch_line_summary()
        problems = []
        for invoice, lines in by_invoice.items():
            fees = sum(lines.mapped("price_total"))
            stornos = ", ".join(lines.sepa_fee_storno_id.mapped("name"))
            if summary[invoice.id][0]:
                problems.append(_(
                    "%(stornos)s: fee invoice %(invoice)s is in a direct debit batch; "
                    "remove it from the batch (cancel the batch) first",
                    stornos=stornos, invoice=invoice.name))
            elif invoice.payment_state in ("paid", "in_payment") or \
                    invoice.currency_id.compare_amounts(invoice.amount_residual, fees) < 0:
                problems.append(_(
                    "%(stornos)s: fee invoice %(invoice)s is paid (open %(residual)s of "
                    "fees %(fees)s); refund the customer by hand first",
                    stornos=stornos, invoice=invoice.name,
                    residual=invoice.amount_residual, fees=fees))
        if problems:
            raise UserError(_("No storno was cancelled:\n%(list)s",
                              list="\n".join(problems[:20])))

    def _prepare_fee_refund_vals(self, invoice, lines):
        return {
            "move_type": "out_refund",
            "company_id": invoice.company_id.id,
            "partner_id": invoice.partner_id.id,
            "currency_id": invoice.currency_id.id,
            "fiscal_position_id": invoice.fiscal_position_id.id,
            "reversed_entry_id": invoice.id,
            "invoice_date": fields.Date.context_today(self),
            "invoice_origin": invoice.name,
            "ref": _("Storno cancelled: %(stornos)s",
                     stornos=", ".join(lines.sepa_fee_storno_id.mapped("name"))),
            "invoice_line_ids": [Command.create({
                "product_id": line.product_id.id,
                "name": line.name,
                "quantity": line.quantity,
                "price_unit": line.price_unit,
                "tax_ids": [Command.set(line.tax_ids.ids)],
                "account_id": line.account_id.id,
                "sepa_fee_storno_id": line.sepa_fee_storno_id.id,
            }) for line in lines],
        }

    # ------------------------------------------------------------------
    # STORNO SCORE
    # ------------------------------------------------------------------

    def _add_to_score(self):
        """Each storno adds its reason's points to its mandate's score (revoke-at-once
        reasons: the threshold), one event each with the score after it; mandates at
        the threshold are revoked when the company says so, with one message naming the
        stornos.

        The score is a function of the log (``sepa.mandate._storno_score_sql``): read
        before the events are added (a return after settlement has undone that
        settlement's reset already: its debit failed) and stored after, one query each.
        Read in one query and written set-wise: through the ORM a storno's fields and
        its mandate's are all read (prefetch), hundreds of megabytes for 50,000 stornos.
        """
        rows = self._score_rows()
        if not rows:
            return
        Mandate = self.env["sepa.mandate"]
        points = self._score_points_of(rows)
        own_points = self._creditor_points_of(rows)
        scores = {mandate_id: row["score"] for mandate_id, row in Mandate._storno_score_rows(
            list({row["mandate_id"] for row in rows})).items()}
        events, by_mandate, by_points = [], defaultdict(list), defaultdict(list)
        for row in rows:
            mandate_id = row["mandate_id"]
            added = own_points.get((row["creditor_id"], row["reason_id"]),
                                   points[row["company_id"], row["reason_id"]])
            scores[mandate_id] += added
            by_mandate[mandate_id].append(row["id"])
            events.append({
                "mandate_id": mandate_id, "storno_id": row["id"], "kind": "storno",
                "reason_code": row["reason_code"], "points": added,
                "score": scores[mandate_id], "date": row["date"],
                "company_id": row["mandate_company_id"],
            })
            if row["points"] != added:
                by_points[added].append(row["id"])
        for added, ids in by_points.items():  # not tracked: no tracking to prepare
            self.browse(ids).with_context(tracking_disable=True).write({"points": added})
        insert_records(self.env["sepa.storno.event"], events)
        scores = Mandate._compute_storno_scores(by_mandate)
        self._revoke_at_threshold(scores, by_mandate, rows)

    def _score_rows(self):
        """The stornos of these with a mandate, in the order they count (date, id), with
        their mandate's state and company: one query."""
        self.flush_recordset(["mandate_id", "company_id", "reason_id", "reason_code", "kind",
                              "date", "batch_id", "points"])
        self.env["sepa.mandate"].flush_model(["state", "company_id", "creditor_id"])
        return self.env.execute_query_dict(SQL(
            """SELECT s.id, s.mandate_id, s.company_id, s.reason_id, s.reason_code, s.kind,
                      s.date, s.batch_id, s.points,
                      md.state AS mandate_state, md.company_id AS mandate_company_id,
                      md.creditor_id
                 FROM sepa_storno s JOIN sepa_mandate md ON md.id = s.mandate_id
                WHERE s.id = ANY(%s) ORDER BY s.date, s.id""", self.ids))

    @api.model
    def _creditor_points_of(self, rows):
        """``{(creditor id, reason id): points}`` where a creditor's own threshold makes
        the points of a revoke-at-once reason (a debtor's failure) its threshold instead
        of the company's (see ``sepa.creditor._storno_points_threshold``)."""
        creditors = self.env["sepa.creditor"].browse(
            {row["creditor_id"] for row in rows if row["creditor_id"]}).filtered(
            "storno_threshold")
        if not creditors:
            return {}
        at_once = self.env["sepa.return.reason"].browse(
            {row["reason_id"] for row in rows if row["reason_id"]}).filtered(
            lambda reason: reason.revoke_at_once and reason.fault == "debtor")
        return {(creditor.id, reason.id): creditor._storno_points_threshold()
                for creditor in creditors for reason in at_once}

    @api.model
    def _score_points_of(self, rows):
        """``{(company id, reason id): points}`` for the stornos of ``rows`` (dicts with
        their ``company_id`` and ``reason_id``): see ``_consequences_of``."""
        return {key: answer.points for key, answer in self._consequences_of(rows).items()}

    @api.model
    def _consequences_of(self, rows):
        """``{(company id, reason id): Consequences(charge, fee, points)}`` for the
        stornos of ``rows`` (dicts with their ``company_id`` and ``reason_id``): whether
        they get the default bank charge, a fee invoice and how many storno points, as
        ``sepa.return.reason._consequences`` answers it (one query per company)."""
        reason_ids = defaultdict(set)
        for row in rows:
            reason_ids[row["company_id"]].add(row["reason_id"])
        Reason, Company = self.env["sepa.return.reason"], self.env["res.company"]
        return {(company_id, reason_id): answer
                for company_id, ids in reason_ids.items()
                for reason_id, answer in Reason.browse(ids)._consequences(
                    Company.browse(company_id)).items()}

    def _revoke_at_threshold(self, scores, by_mandate, rows):
        """Revoke the active mandates whose score reached their threshold (their
        creditor's rule, else their company's; automatic revocation on): one chatter
        message each naming its stornos. ``by_mandate``: ``{mandate id: [storno id,
        ...]}``; ``rows``: ``_score_rows``."""
        mandate_rows = {row["mandate_id"]: row for row in rows}
        companies = self.env["res.company"].browse(
            {row["mandate_company_id"] for row in rows})
        threshold = {company.id: company.sepa_storno_threshold
                     if company.sepa_storno_auto_revoke else 0 for company in companies}
        creditors = self.env["sepa.creditor"].browse(
            {row["creditor_id"] for row in rows if row["creditor_id"]})
        of_creditor = {creditor.id: creditor._storno_threshold() for creditor in creditors}

        def threshold_of(row):
            if row["creditor_id"]:
                return of_creditor[row["creditor_id"]]
            return threshold[row["mandate_company_id"]]

        limits = {mandate_id: threshold_of(row) for mandate_id, row in mandate_rows.items()}
        revoke = self.env["sepa.mandate"].browse(
            mandate_id for mandate_id, row in mandate_rows.items()
            if row["mandate_state"] in ("draft", "active")
            and scores[mandate_id] >= limits[mandate_id] > 0)
        events, notes = [], {}
        for mandate in revoke:
            stornos = mandate._scored_stornos() | self.browse(by_mandate[mandate.id])
            names = ", ".join(f"{s.name} ({format_date(self.env, s.date)})" for s in stornos)
            reason = _("Storno score %(score)s reached the threshold %(threshold)s: %(stornos)s",
                       score=scores[mandate.id],
                       threshold=limits[mandate.id], stornos=names)
            mandate._revoke(max(stornos.mapped("date")), reason[:250])
            notes[mandate.id] = [("mandate_revoked_score", {
                "score": scores[mandate.id],
                "threshold": limits[mandate.id],
                "stornos": {"dated": [[s.name, fields.Date.to_string(s.date)]
                                      for s in stornos]}})]
            events.append({"mandate_id": mandate.id, "storno_id": stornos[-1:].id,
                           "kind": "revoke", "points": 0, "score": scores[mandate.id],
                           "date": max(stornos.mapped("date"))})
        # one note per mandate, in one go, shown in the reader's language
        self.env["mail.message"]._sepa_log(revoke, notes)
        self.env["sepa.storno.event"].create(events)

    def _score_before_cancel(self):
        """What ``_remove_from_score`` needs of the score before these stornos are
        cancelled: ``({mandate id: score}, {storno id counted in it})``."""
        rows = self.env["sepa.mandate"]._storno_score_rows(self.mandate_id.ids)
        counted = {storno_id for storno_id, mandate_id, event_id in self.env.execute_query(SQL(
            """SELECT storno_id, mandate_id, id FROM sepa_storno_event
                WHERE storno_id = ANY(%s) AND kind = 'storno'""", self.ids))
            if event_id > (rows[mandate_id]["reset_id"] or 0)}
        return {mandate_id: row["score"] for mandate_id, row in rows.items()}, counted

    def _remove_from_score(self, before):
        """Cancelled stornos: the score is computed again from the log, where they no
        longer count (nor does anything they undid: a settlement's reset counts again).
        One event each: its points if they counted, the last of a mandate's also any
        other change (a reset counting again). ``before``: ``_score_before_cancel``.
        A revocation they caused is not undone: reactivate the mandate if it should
        collect again."""
        scores, counted = before
        after = self.env["sepa.mandate"]._compute_storno_scores(scores)
        stornos = self.filtered("mandate_id").sorted("id")
        events, running = [], dict(scores)
        for storno in stornos:
            mandate_id = storno.mandate_id.id
            points = -storno.points if storno.id in counted else 0
            running[mandate_id] += points
            events.append({
                "mandate_id": mandate_id, "storno_id": storno.id, "kind": "cancel",
                "reason_code": storno.reason_code, "points": points,
                "score": running[mandate_id], "date": fields.Date.context_today(self),
            })
        for event in reversed(events):  # the last event of each mandate: the rest
            mandate_id = event["mandate_id"]
            if running[mandate_id] != after[mandate_id]:
                event["points"] += after[mandate_id] - running[mandate_id]
                event["score"] = running[mandate_id] = after[mandate_id]
        self.env["sepa.storno.event"].create(events)

    # ------------------------------------------------------------------
    # CANCEL: what happened because of the storno, or did not
    # ------------------------------------------------------------------

    @api.model
    def _mark_settled_while_failed(self, batches):
        """``batches`` are settled: their registered stornos get the place of that
        settlement in the score log (an event id reserved now), which a cancellation
        needs to collect their debit after all (``_collect_after_settlement``). One
        query."""
        self.flush_model(["batch_id", "state", "settlement_position"])
        self.env.execute_query(SQL(
            """UPDATE sepa_storno
                  SET settlement_position = nextval(
                          pg_get_serial_sequence('sepa_storno_event', 'id'))
                WHERE batch_id = ANY(%s) AND state = 'done'""", batches.ids))
        self.invalidate_model(["settlement_position"])

    def _collect_after_settlement(self):
        """These cancelled stornos' debits that had failed when their batch was settled
        are collected now: what the settlement did for the batch's other debits (the
        amendment the debit reported, the mandate's successful debit: last debit date,
        override done with, one-off mandate used; the score reset, at the place of the
        settlement in the log). One read."""
        self.env.flush_all()
        rows = self.env.execute_query_dict(SQL(
            """SELECT s.id, s.mandate_id, s.batch_id, s.settlement_position,
                      b.settled_date, l.collection_date,
                      ARRAY_AGG(o.id ORDER BY o.id) AS line_ids
                 FROM sepa_storno s
                 JOIN sepa_batch b ON b.id = s.batch_id
                 JOIN sepa_batch_line l ON l.id = s.batch_line_id
                 JOIN sepa_batch_line o ON o.batch_id = l.batch_id
                                       AND o.end_to_end_id = l.end_to_end_id
                WHERE s.id = ANY(%s) AND s.settlement_position IS NOT NULL
                  AND b.state = 'done' AND o.state = 'collected'
             GROUP BY s.id, b.id, l.id""", self.ids))
        if not rows:
            return
        Mandate = self.env["sepa.mandate"]
        self.env["sepa.batch"]._settle_amendments(
            [line_id for row in rows for line_id in row["line_ids"]])
        by_date = defaultdict(set)
        for row in rows:
            by_date[row["collection_date"]].add(row["mandate_id"])
        for collection_date, mandate_ids in sorted(by_date.items()):
            Mandate.browse(sorted(mandate_ids))._register_successful_debit(collection_date)
        Mandate._reset_storno_score_at([
            (row["mandate_id"], row["batch_id"], row["settled_date"],
             row["settlement_position"]) for row in rows if row["mandate_id"]])

    def _undo_control(self):
        """What the control after reconciliation did because of these cancelled
        stornos: invoices taken out of direct debit are released from their hold, and a
        sequence type chosen after the failed first debit is the one before again
        (where the mandate still has the chosen one and no other registered storno
        chose it)."""
        invoices = self.filtered(lambda storno: storno.release_state == "out").invoice_ids
        invoices.filtered("sepa_hold").write({"sepa_hold": False, "sepa_hold_reason": False})
        chosen = self.filtered("sequence_type_chosen")
        if not chosen:
            return
        others = self.search([("mandate_id", "in", chosen.mandate_id.ids),
                              ("state", "=", "done"), ("sequence_type_chosen", "!=", False)])
        restore = defaultdict(list)
        for storno in chosen.sorted("id", reverse=True):  # the first choice's before
            mandate = storno.mandate_id
            if mandate.sequence_type_override == storno.sequence_type_chosen \
                    and mandate not in others.mandate_id:
                restore[mandate.id] = storno.sequence_type_before or False
        by_value = defaultdict(list)
        for mandate_id, value in restore.items():
            by_value[value].append(mandate_id)
        for value, ids in by_value.items():
            self.env["sepa.mandate"].browse(ids).write({"sequence_type_override": value})

    # ------------------------------------------------------------------
    # RELEASE (Failed Debits list)
    # ------------------------------------------------------------------

    def action_retry(self):
        """Release these failed debits: their invoices are collectable again and the
        next proposal takes them (if nothing else keeps them out).

        Where there is something to confirm first (a reason that needs a new account or
        mandate, a refund the customer asked for), the dialog *Release Failed Debits*
        opens instead and says it."""
        self._check_state(("done",), _("retry"))
        if self._retry_warnings():
            return self._open_release_dialog("retry")
        self._retry()
        return True

    def action_hold(self, note=None):
        """Keep the invoices of these failed debits out of the proposals, with a note:
        the one given, else the dialog *Release Failed Debits* asks for it."""
        self._check_state(("done",), _("hold"))
        if not note:
            return self._open_release_dialog("hold")
        self.write({"release_state": "hold", "hold_note": note, "represent_date": False,
                    "released_by_policy": False})
        return True

    def _retry(self, confirmed=False):
        """Retry these failed debits (``confirmed``: *Retry Anyway* was ticked), refused
        as ``_retry_problems`` says, nothing changed."""
        problems = self._retry_problems(confirmed)
        if problems:
            raise UserError(_("Nothing was retried:\n%(list)s",
                              list="\n".join(problems[:20])))
        self.write({"release_state": "retry", "hold_note": False, "represent_date": False,
                    "released_by_policy": False})

    def _open_release_dialog(self, release):
        return {
            "type": "ir.actions.act_window",
            "res_model": "sepa.storno.release",
            "views": [(False, "form")],
            "target": "new",
            "name": _("Retry Failed Debits") if release == "retry"
            else _("Hold Failed Debits"),
            "context": {"default_storno_ids": [Command.set(self.ids)],
                        "default_release": release,
                        "default_note": len(self) == 1 and self.hold_note or False},
        }

    def _needs_new_account(self):
        """The stornos of these whose reason needs a new account or mandate."""
        return self.filtered(lambda storno: storno.reason_id.needs_new_account)

    def _is_refund(self):
        return self.kind == "refund" or self.reason_code == "MD06"

    def _retry_warnings(self):
        """What a user retrying these failed debits is told first: one line each of
        those that need a new account or mandate or were refunded (empty: nothing)."""
        changed = self._account_changed_ids()
        warnings = []
        for storno in self:
            if storno.reason_id.needs_new_account:
                warnings.append(storno._retry_warning(storno.id in changed))
            elif storno._is_refund():
                warnings.append(storno._retry_warning(False))
        return warnings

    def _retry_warning(self, account_changed):
        """One line naming this failed debit (its invoices and mandate) and what a
        retry of it means."""
        self.ensure_one()
        env = self.env
        debit = env._("%(invoices)s (mandate %(mandate)s, %(reason)s)",
                      invoices=", ".join(self.invoice_ids.mapped("name")),
                      mandate=self.mandate_id.name or env._("none"),
                      reason=self.reason_id.display_name or self.reason_code)
        if self.reason_id.needs_new_account and not account_changed:
            return env._("%(debit)s: cannot succeed again on the same account; hold it "
                         "until the customer gives a new account or mandate", debit=debit)
        if self.reason_id.needs_new_account:
            return env._("%(debit)s: the account changed since; tick Retry Anyway to "
                         "collect it again", debit=debit)
        return env._("%(debit)s: the customer asked the bank for a refund of this debit; "
                     "ask before collecting it again", debit=debit)

    def _retry_problems(self, confirmed):
        """Why these failed debits cannot be retried: a reason that needs a new account
        or mandate is retried only when confirmed (*Retry Anyway*) and once the mandate's
        account changed (or the customer has another active mandate). One line each,
        naming the invoices and the mandate."""
        needing = self._needs_new_account()
        if not needing:
            return []
        changed = needing._account_changed_ids()
        problems = []
        for storno in needing:
            debit = _("%(invoices)s (mandate %(mandate)s, %(reason)s)",
                      invoices=", ".join(storno.invoice_ids.mapped("name")),
                      mandate=storno.mandate_id.name or _("none"),
                      reason=storno.reason_id.display_name or storno.reason_code)
            if storno.id not in changed:
                problems.append(_(
                    "%(debit)s: the mandate still has the account that failed; enter the "
                    "customer's new IBAN on the mandate (or activate a new mandate) first",
                    debit=debit))
            elif not confirmed:
                problems.append(_(
                    "%(debit)s: the reason needs a new account or mandate; confirm with "
                    "Retry Anyway", debit=debit))
        return problems

    def _account_changed_ids(self):
        """Ids of these failed debits whose mandate no longer debits the account that
        failed (its IBAN changed), was signed again since (reactivated with a new
        signature), or whose customer has another active mandate: one query. A failed
        debit registered before the debited IBAN was kept counts as changed (unknown)."""
        if not self:
            return set()
        self.flush_recordset(["debited_iban", "mandate_id", "partner_id", "company_id",
                              "date"])
        self.env["sepa.mandate"].flush_model(
            ["partner_bank_id", "state", "partner_id", "signature_date"])
        self.env["res.partner.bank"].flush_model(["sanitized_acc_number"])
        return {row[0] for row in self.env.execute_query(SQL(
            "SELECT s.id FROM sepa_storno s WHERE s.id = ANY(%s) AND %s",
            self.ids, self._account_changed_sql("s")))}

    @api.model
    def _account_changed_sql(self, alias):
        """SQL condition: the storno of table alias ``alias`` no longer debits the
        account that failed (see ``_account_changed_ids``; the caller flushes)."""
        s = SQL.identifier(alias)
        return SQL(
            """(%(s)s.debited_iban IS NULL
                OR %(s)s.debited_iban IS DISTINCT FROM (
                    SELECT bank.sanitized_acc_number
                      FROM sepa_mandate md
                      JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
                     WHERE md.id = %(s)s.mandate_id)
                OR EXISTS (
                    SELECT FROM sepa_mandate signed
                     WHERE signed.id = %(s)s.mandate_id AND signed.state = 'active'
                       AND signed.signature_date >= %(s)s.date)
                OR EXISTS (
                    SELECT FROM sepa_mandate other
                     WHERE other.partner_id = %(s)s.partner_id
                       AND other.company_id = %(s)s.company_id
                       AND other.id != %(s)s.mandate_id AND other.state = 'active'))""",
            s=s)

    # ------------------------------------------------------------------
    # RE-PRESENTATION AFTER PAYDAY (company policy)
    # ------------------------------------------------------------------

    def _represent_after_payday(self):
        """Release these new failed debits as the company's re-presentation policy says
        (*Re-present Failed Debits Automatically*): each one whose reason is flagged
        *Re-present Automatically* (AM04, MS03) is

        - released for retry with a planned re-presentation date (``represent_date``,
          ``sepa.calendar.representation_date``: the first collection date on or after
          the company's payday, and after the pre-notification period of the customer
          counted from today: the failed debit e-mail announces it) while its invoices
          were re-presented fewer times than the company's maximum within its period
          (their earlier registered failed
          debits in that many days count);
        - held, with a note saying so, once they were re-presented the maximum.

        Only what a retry without confirmation allows is released: a failed debit whose
        mandate is not active, whose reason needs a new account or mandate, or that the
        customer had refunded stays *To Release* for the control. Either way it is
        ``released_by_policy``: the control after reconciliation shows it until
        processed. One read, one write per planned date and per note (not tracked: the
        control and the storno show the plan).
        """
        rows = self._represent_rows()
        if not rows:
            return
        today = fields.Date.context_today(self)
        Company = self.env["res.company"]
        dates, notes = {}, {}
        retry, hold = defaultdict(list), defaultdict(list)
        for row in rows:
            company = Company.browse(row["company_id"])
            if row["presented"] >= company.sepa_represent_max:
                key = (row["presented"], company.sepa_represent_window)
                if key not in notes:
                    notes[key] = self.env._(
                        "Re-presented %(count)s times within %(days)s days, the maximum",
                        count=key[0], days=key[1])
                hold[notes[key]].append(row["id"])
                continue
            if row["mandate_state"] != "active" or row["needs_new_account"] \
                    or row["kind"] == "refund" or row["reason_code"] == "MD06":
                continue  # as a retry without confirmation: left to the control
            # the failed debit e-mail (sent now) is the notice of the re-presentation
            key = (company.id, row["scheme"], row["notice_days"])
            if key not in dates:
                dates[key] = representation_date(
                    today, company.sepa_represent_payday, row["scheme"],
                    bank_lead_days=company.sepa_bank_lead_days,
                    not_before=today + timedelta(days=row["notice_days"]))
            retry[dates[key]].append(row["id"])
        Storno = self.with_context(tracking_disable=True)
        for date, ids in retry.items():
            Storno.browse(ids).write({"release_state": "retry", "hold_note": False,
                                      "represent_date": date, "released_by_policy": True})
        for note, ids in hold.items():
            Storno.browse(ids).write({"release_state": "hold", "hold_note": note,
                                      "represent_date": False, "released_by_policy": True})

    def _represent_rows(self):
        """The failed debits of these that the policy decides about (registered, not
        released, company policy on, reason flagged), each with ``presented``: how many
        times its invoices were re-presented within the company's period, i.e. their
        earlier registered failed debits in that many days before it (the most of any
        of its invoices). One query."""
        self.env.flush_all()
        # joins, not a subquery per storno: with the statistics of a table that just
        # grew by thousands of stornos the planner scanned every storno for each one
        # (80 s for 5,000 returns)
        return self.env.execute_query_dict(SQL(
            """WITH given AS MATERIALIZED (
                   SELECT s.id, s.date, s.company_id, s.kind, s.reason_code, s.batch_id,
                          s.mandate_id, r.needs_new_account,
                          c.sepa_represent_window AS window_days
                     FROM sepa_storno s
                     JOIN res_company c ON c.id = s.company_id
                     JOIN sepa_return_reason r ON r.id = s.reason_id
                    WHERE s.id = ANY(%s) AND s.state = 'done' AND s.release_state = 'none'
                      AND c.sepa_represent_auto AND r.represent_automatically
               ), earlier AS (
                   -- the conditions on e in FILTER, not WHERE: e is then read by its id
                   -- only, never scanned as a whole for each storno
                   SELECT g.id, own.invoice_id, COUNT(e.id) FILTER (
                              WHERE e.state = 'done' AND (e.date, e.id) < (g.date, g.id)
                                AND e.date >= g.date - g.window_days) AS n
                     FROM given g
                     JOIN sepa_storno_invoice_rel own ON own.storno_id = g.id
                     JOIN sepa_storno_invoice_rel other ON other.invoice_id = own.invoice_id
                     JOIN sepa_storno e ON e.id = other.storno_id
                 GROUP BY g.id, own.invoice_id
               )
               SELECT g.id, g.company_id, g.kind, g.reason_code, b.scheme,
                      md.state AS mandate_state, g.needs_new_account,
                      COALESCE(presented.n, 0) AS presented,
                      COALESCE(NULLIF(customer.sepa_notice_days, 0), c.sepa_notice_days, 0)
                          AS notice_days
                 FROM given g
                 JOIN sepa_batch b ON b.id = g.batch_id
                 JOIN res_company c ON c.id = g.company_id
            LEFT JOIN sepa_mandate md ON md.id = g.mandate_id
            LEFT JOIN res_partner p ON p.id = md.partner_id
            LEFT JOIN res_partner customer ON customer.id = p.commercial_partner_id
            LEFT JOIN (SELECT id, MAX(n) AS n FROM earlier GROUP BY id) presented
                   ON presented.id = g.id
             ORDER BY g.id""", self.ids))

    # ------------------------------------------------------------------
    # AFTER REGISTRATION: mandates with an invalid account, the invoices' chatter
    # ------------------------------------------------------------------

    def _flag_invalid_accounts(self):
        """The mandates of these new failed debits whose reason says the account is no
        longer valid (AC04 closed, AC01 wrong) are flagged *Account No Longer Valid*
        (``sepa.mandate.invalid_account_storno_id``) while they still have the account
        that failed: not proposed until the IBAN changes. One UPDATE (the last such
        storno of each mandate)."""
        self.flush_recordset(["reason_id", "mandate_id", "debited_iban", "date"])
        self.env["sepa.mandate"].flush_model(["partner_bank_id", "invalid_account_storno_id"])
        self.env["res.partner.bank"].flush_model(["sanitized_acc_number"])
        self.env["sepa.return.reason"].flush_model(["invalidates_account"])
        mandates = self.env["sepa.mandate"].browse(row[0] for row in self.env.execute_query(SQL(
            """UPDATE sepa_mandate md
                  SET invalid_account_storno_id = f.storno_id, write_uid = %(uid)s,
                      write_date = %(now)s
                 FROM (SELECT DISTINCT ON (s.mandate_id) s.mandate_id, s.id AS storno_id
                         FROM sepa_storno s
                         JOIN sepa_return_reason r ON r.id = s.reason_id
                         JOIN sepa_mandate m ON m.id = s.mandate_id
                    LEFT JOIN res_partner_bank bank ON bank.id = m.partner_bank_id
                        WHERE s.id = ANY(%(ids)s) AND r.invalidates_account
                          AND (s.debited_iban IS NULL
                               OR s.debited_iban = bank.sanitized_acc_number)
                     ORDER BY s.mandate_id, s.date DESC, s.id DESC) f
                WHERE md.id = f.mandate_id
            RETURNING md.id""", uid=self.env.uid, now=self.env.cr.now(), ids=self.ids)))
        if mandates:
            mandates.invalidate_recordset(
                ["invalid_account_storno_id", "write_uid", "write_date"])
            mandates.modified(["invalid_account_storno_id"])

    def _log_on_invoices(self):
        """Each invoice of these new failed debits says why in its chatter: the failed
        debit (a link), its date and reason in words, one note per invoice (what Odoo's
        ``_message_log_batch`` writes: an internal note of the current user), shown in
        the reader's language (its parts in ``mail.message.sepa_i18n``, key
        ``invoice_debit_failed``).

        One query reads what they say, ONE INSERT writes them all: through the ORM's
        ``create`` each message costs about 2 ms in a registration (the HTML sanitizer
        twice, defaults, the invoices' cached messages), which doubled the registration
        of 5,000 returns; the bodies are made here of escaped values only."""
        env = self.env
        self.flush_recordset(["name", "date", "kind", "reason_code", "reason_id"])
        env["sepa.return.reason"].flush_model(["name"])
        rows = env.execute_query(SQL(
            """SELECT r.invoice_id, s.id, s.name, s.date, s.kind, s.reason_code,
                      s.reason_id, COALESCE(rr.name->>%(lang)s, rr.name->>'en_US')
                 FROM sepa_storno_invoice_rel r
                 JOIN sepa_storno s ON s.id = r.storno_id
            LEFT JOIN sepa_return_reason rr ON rr.id = s.reason_id
                WHERE s.id = ANY(%(ids)s)
             ORDER BY r.invoice_id""", lang=env.lang or "en_US", ids=self.ids))
        if not rows:
            return
        key = "invoice_debit_failed"
        # translated once, not for each invoice (``_`` costs about 1 ms a call)
        template = Markup("<p>%s</p>") % escape(env._(MESSAGES[key]._source))
        link = Markup('<a href="#" data-oe-model="sepa.storno" data-oe-id="%s">%s</a>')
        kinds = dict(self._fields["kind"]._description_selection(env))
        dates, invoice_ids, bodies, parts = {}, [], [], []
        for invoice_id, storno_id, name, date, kind, code, reason_id, reason in rows:
            if date not in dates:
                dates[date] = (format_date(env, date), date.isoformat())
            invoice_ids.append(invoice_id)
            bodies.append(str(template % {
                "debit": link % (storno_id, name), "kind": kinds.get(kind, kind).lower(),
                "date": dates[date][0], "reason": reason or code, "code": code}))
            parts.append(json.dumps([[key, {
                "debit": {"link": ["sepa.storno", storno_id, name]},
                "kind": {"selection": ["sepa.storno", "kind", kind], "lower": True},
                "date": {"date": dates[date][1]},
                "reason": {"field": ["sepa.return.reason", reason_id, "name"]}
                if reason_id else code,
                "code": code}]]))
        thread = env["mail.thread"]
        author_id, email_from = thread._message_compute_author(raise_on_email=False)
        now = env.cr.now().replace(microsecond=0)
        env.execute_query(SQL(
            """INSERT INTO mail_message (create_uid, create_date, write_uid, write_date,
                      date, model, res_id, body, sepa_i18n, message_type, subtype_id,
                      is_internal, author_id, email_from, reply_to, message_id,
                      email_add_signature)
               SELECT %(uid)s, %(now)s, %(uid)s, %(now)s, %(now)s, 'account.move',
                      u.res_id, u.body, u.parts, 'notification', %(subtype)s, TRUE,
                      %(author)s, %(email_from)s, %(reply_to)s, %(message_id)s, FALSE
                 FROM unnest(%(res_ids)s::int[], %(bodies)s::text[], %(parts)s::jsonb[])
                      AS u(res_id, body, parts)""",
            uid=env.uid, now=now, subtype=env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
            author=author_id, email_from=email_from,
            reply_to=thread._notify_get_reply_to(default=email_from)[False],
            message_id=generate_tracking_message_id("message-notify"),
            res_ids=invoice_ids, bodies=bodies, parts=parts))
        env["account.move"].browse(invoice_ids).invalidate_recordset(["message_ids"])

    def action_open_move(self):
        self.ensure_one()
        return self.move_id._sepa_action_open_form()
