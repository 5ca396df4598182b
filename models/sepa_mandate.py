from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..bulk import insert_records
from ..constants import SCHEMES
from ..sepa import SepaError
from ..sepa.charset import check_identifier
from ..sepa.ids import bic_from_iban, validate_iban

EXPIRY_MONTHS = 36
EXPIRY_CRON_LIMIT = 1000
#: ``_storno_score_sql``'s bound for the score now: after every event id.
SCORE_NOW = 2**31 - 1


class SepaMandate(models.Model):
    _name = "sepa.mandate"
    _description = "SEPA Direct Debit Mandate"
    _inherit = ["mail.thread", "mail.activity.mixin", "sepa.state.mixin",
                "sepa.company.check.mixin"]
    _order = "signature_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Mandate Reference",
        required=True,
        copy=False,
        default="/",
        tracking=True,
        help="Unique mandate reference (MndtId) within the company: at most 35 characters "
        "of the SEPA identifier set. Left at '/', it is taken from the mandate sequence.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Debtor",
        required=True,
        index=True,
        tracking=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
        help="The commercial entity that signed the mandate and whose invoices are collected.",
    )
    partner_bank_id = fields.Many2one(
        "res.partner.bank",
        string="Debtor Bank Account",
        tracking=True,
        check_company=True,
        ondelete="restrict",
        domain="[('partner_id', 'child_of', partner_id)]",
        help="The IBAN the debtor authorised to be debited. It must belong to the debtor.",
    )
    debtor_iban = fields.Char(
        string="Debtor IBAN",
        related="partner_bank_id.acc_number",
        help="IBAN of the debtor bank account.",
    )
    debtor_bic = fields.Char(
        string="Debtor BIC",
        compute="_compute_debtor_bic",
        store=True,
        help="BIC of the debtor's bank: the bank's BIC when set, otherwise derived from the "
        "IBAN where the bank registry knows it.",
    )
    mandate_type = fields.Selection(
        [("recurring", "Recurring"), ("one_off", "One-off")],
        string="Type",
        required=True,
        default="recurring",
        tracking=True,
        help="Recurring mandates are used for every collection until revoked; a one-off "
        "mandate authorises a single collection (sequence type OOFF).",
    )
    scheme = fields.Selection(
        SCHEMES,
        required=True,
        default="CORE",
        tracking=True,
        help="SEPA Direct Debit scheme: CORE for consumers and businesses, B2B only for "
        "businesses (no refund right, the debtor's bank must know the mandate).",
    )
    signature_date = fields.Date(
        tracking=True,
        copy=False,
        help="Date the debtor signed the mandate (DtOfSgntr). Cannot be in the future.",
    )
    last_debit_date = fields.Date(
        readonly=True,
        copy=False,
        help="Collection date of the last successful debit on this mandate.",
    )
    sequence_type = fields.Selection(
        [("first", "First"), ("recurring", "Recurring")],
        string="Next Sequence Type",
        compute="_compute_sequence_type",
        inverse="_inverse_sequence_type",
        search="_search_sequence_type",
        help="Sequence type of the next debit of a recurring mandate, from its debits since "
        "it was (re)activated: First (FRST) until one of them was settled, or returned, "
        "refunded or reversed after settlement (a reject before settlement does not "
        "count); Recurring (RCUR) afterwards. An override decides instead until the next "
        "debit is settled.",
    )
    sequence_type_override = fields.Selection(
        [("first", "First"), ("recurring", "Recurring")],
        string="Sequence Type Override",
        copy=False,
        tracking=True,
        help="An explicit choice of the sequence type of the next debit (made in the "
        "control after reconciliation, or by hand): used by the next proposal instead of "
        "the one derived from the debit history, and cleared once a debit of the mandate "
        "is settled.",
    )
    sequence_history_start = fields.Integer(
        string="Debit History Starts After",
        readonly=True,
        copy=False,
        default=0,
        help="Technical: the last debit (batch line id) of the mandate when it was last "
        "(re)activated. Only its later debits decide whether the next one is First or "
        "Recurring.",
    )
    batch_line_ids = fields.One2many(
        "sepa.batch.line", "mandate_id", string="Debits", readonly=True,
        help="The direct debits (batch lines) collected under this mandate.")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        help="Company (creditor) the mandate was given to.",
    )
    creditor_id = fields.Many2one(
        "sepa.creditor",
        string="Creditor",
        index=True,
        tracking=True,
        check_company=True,
        ondelete="restrict",
        default=lambda self: self._default_creditor(),
        domain="[('company_id', '=', company_id)]",
        help="The creditor identifier the mandate was given to (default: the company's "
        "first). Changing it on a used mandate is reported to the debtor's bank as an "
        "amendment with the next debit.",
    )
    creditor_identifier = fields.Char(
        string="Creditor Identifier", related="creditor_id.identifier",
        help="The creditor identifier (incassant ID) of the mandate's creditor.")
    invoice_id = fields.Many2one(
        "account.move",
        string="Invoice",
        check_company=True,
        copy=False,
        domain="[('move_type', '=', 'out_invoice'), ('partner_id', 'child_of', partner_id)]",
        help="For a one-off mandate given for one invoice: that invoice.",
    )
    state = fields.Selection(
        [
            ("draft", "To Sign"),
            ("active", "Active"),
            ("revoked", "Revoked"),
            ("expired", "Expired"),
            ("closed", "Closed"),
        ],
        required=True,
        default="draft",
        copy=False,
        index=True,
        tracking=True,
        help="To Sign: waiting for the signed form. Active: used for collections. Revoked: "
        "withdrawn by the debtor or after stornos. Expired: unused for 36 months. Closed: "
        "no longer used (e.g. a used one-off mandate).",
    )
    revocation_date = fields.Date(
        copy=False, tracking=True, help="Date the mandate was revoked."
    )
    revocation_reason = fields.Char(
        copy=False, tracking=True, help="Why the mandate was revoked."
    )
    original_iban = fields.Char(
        string="Original Debtor IBAN",
        copy=False,
        readonly=True,
        help="Amendment: the IBAN debited before the debtor account changed. The next "
        "debit reports it to the bank; it is cleared after that debit succeeded.",
    )
    original_reference = fields.Char(
        string="Original Mandate Reference",
        copy=False,
        readonly=True,
        help="Amendment: the mandate reference before it changed. The next debit reports "
        "it to the bank; it is cleared after that debit succeeded.",
    )
    original_creditor_identifier = fields.Char(
        string="Original Creditor Identifier",
        copy=False,
        readonly=True,
        help="Amendment: the creditor identifier of the mandate before its creditor (or "
        "the creditor's identifier) changed. The next debit reports it to the bank; it is "
        "cleared after that debit succeeded.",
    )
    original_creditor_name = fields.Char(
        string="Original Creditor Name",
        copy=False,
        readonly=True,
        help="Amendment: the creditor's name that went with the original creditor "
        "identifier.",
    )
    is_amended = fields.Boolean(
        string="Amendment Pending",
        compute="_compute_is_amended",
        store=True,
        help="The next debit carries amendment information (changed IBAN, reference or "
        "creditor identifier).",
    )
    invoice_count = fields.Integer(
        string="Invoices", compute="_compute_link_counts",
        help="Invoices collected or to be collected under this mandate.")
    batch_count = fields.Integer(
        string="Batches", compute="_compute_link_counts",
        help="Direct debit batches with a debit of this mandate.")
    storno_score = fields.Integer(
        string="Storno Score", readonly=True, copy=False, default=0,
        help="Points of the registered failed debits since the last debit settled without "
        "storno (cancelled ones do not count); at the company's threshold the mandate is "
        "revoked (when automatic revocation is on). Computed from the log below, which "
        "explains every change.")
    storno_count = fields.Integer(
        string="Failed Debits", compute="_compute_storno_count",
        help="Number of registered stornos (failed debits) of this mandate.")
    invalid_account_storno_id = fields.Many2one(
        "sepa.storno", string="Account Invalidated By", readonly=True, copy=False,
        index="btree_not_null", ondelete="set null", tracking=True,
        help="The failed debit whose reason said the debtor's account is no longer valid "
        "(AC04 account closed, AC01 wrong account), set when it was registered. Cleared "
        "when the mandate's IBAN changes (an amendment).")
    account_invalid = fields.Boolean(
        string="Account No Longer Valid", compute="_compute_account_invalid", store=True,
        help="The bank said the mandate's account is closed or wrong: the mandate is not "
        "proposed until its IBAN changes (enter the customer's new account).")
    storno_event_ids = fields.One2many(
        "sepa.storno.event", "mandate_id", string="Storno Score Log", readonly=True,
        help="Every change of the storno score: stornos, cancellations, resets.")

    _sql_constraints = [
        (
            "name_company_uniq",
            "unique(name, company_id)",
            "A mandate with this reference already exists in this company.",
        ),
    ]

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("partner_bank_id.acc_number", "partner_bank_id.bank_id.bic")
    def _compute_debtor_bic(self):
        for mandate in self:
            bank = mandate.partner_bank_id
            mandate.debtor_bic = bank.bank_id.bic or (
                bank.acc_number and bic_from_iban(bank.acc_number)
            ) or False

    @api.depends("original_iban", "original_reference", "original_creditor_identifier")
    def _compute_is_amended(self):
        for mandate in self:
            mandate.is_amended = bool(mandate.original_iban or mandate.original_reference
                                      or mandate.original_creditor_identifier)

    @api.model
    def _default_creditor(self):
        company = self.env["res.company"].browse(
            self.env.context.get("default_company_id")) or self.env.company
        return self.env["sepa.creditor"]._default_for_company(company)

    @api.depends("invalid_account_storno_id.state")
    def _compute_account_invalid(self):
        for mandate in self:
            mandate.account_invalid = mandate.invalid_account_storno_id.state == "done"

    def _compute_link_counts(self):
        for mandate in self:
            mandate.invoice_count = self.env["account.move"].search_count(
                mandate._invoice_domain())
            mandate.batch_count = self.env["sepa.batch"].search_count(
                [("line_ids.mandate_id", "=", mandate.id)])

    def _compute_storno_count(self):
        counts = dict(self.env["sepa.storno"]._read_group(
            [("mandate_id", "in", self.ids), ("state", "=", "done")],
            groupby=["mandate_id"], aggregates=["__count"]))
        for mandate in self:
            mandate.storno_count = counts.get(mandate, 0)

    @api.depends("sequence_type_override", "sequence_history_start",
                 "batch_line_ids.state")
    def _compute_sequence_type(self):
        # batch_line_ids.state: settling, failing and un-failing a debit write its lines'
        # state, which invalidates the value (only where it is in the cache)
        values = self._sepa_next_sequence_types(self._origin.ids)
        for mandate in self:
            mandate.sequence_type = values.get(
                mandate._origin.id, mandate.sequence_type_override or "first")

    def _inverse_sequence_type(self):
        """Setting the sequence type (by hand, an import, data) is an override where it
        differs from what the debit history says, and clears the override otherwise."""
        history = self._sepa_next_sequence_types(self.ids, override=False)
        overrides = defaultdict(list)
        for mandate in self:
            value = mandate.sequence_type or False
            overrides[value if value != history.get(mandate.id) else False].append(
                mandate.id)
        for value, ids in overrides.items():
            records = self.browse(ids).filtered(
                lambda m, v=value: m.sequence_type_override != v)
            records.write({"sequence_type_override": value})

    def _search_sequence_type(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(_("Operation not supported"))
        values = [value] if isinstance(value, str) or not value else list(value)
        self._flush_sequence_history()
        positive = operator in ("=", "in")
        return [("id", "in" if positive else "not in",
                 SQL("(%s)", self._sequence_type_query(None, values=values)))]

    @api.model
    def _sepa_next_sequence_types(self, mandate_ids, override=True):
        """``{mandate id: 'first' or 'recurring'}``: the sequence type of the next debit
        of each mandate of ``mandate_ids``, in one grouped query (a proposal asks it for
        thousands of mandates). Without ``override``: what the debit history says.

        A recurring mandate is First until one of its debits since its (re)activation
        (``sequence_history_start``) was settled (a collected batch line) or failed after
        settlement (a registered storno marked ``after_settlement``: a return, refund or
        reversal, or a reject of a settled batch). Rejects before settlement, cancelled
        batches and cancelled stornos do not count: cancelling has nothing to undo.
        """
        mandate_ids = list(mandate_ids)
        if not mandate_ids:
            return {}
        self._flush_sequence_history()
        return dict(self.env.execute_query(
            self._sequence_type_query(mandate_ids, override=override)))

    @api.model
    def _flush_sequence_history(self):
        """Flush what ``_sequence_type_query`` reads."""
        self.env["sepa.mandate"].flush_model(
            ["sequence_type_override", "sequence_history_start"])
        self.env["sepa.batch.line"].flush_model(["mandate_id", "state"])
        self.env["sepa.storno"].flush_model(["batch_line_id", "state", "after_settlement"])

    @api.model
    def _sequence_type_query(self, mandate_ids, override=True, values=None):
        """The query of ``_sepa_next_sequence_types`` (``mandate_ids`` None: of every
        mandate); with ``values``: the ids of the mandates whose type is one of them."""
        derived = self._sequence_type_sql("md", override=override)
        where = SQL("md.id = ANY(%s)", mandate_ids) if mandate_ids is not None else SQL("TRUE")
        if values is not None:
            return SQL("SELECT md.id FROM sepa_mandate md WHERE %s AND %s = ANY(%s)",
                       where, derived, [v for v in values if v])
        return SQL("SELECT md.id, %s FROM sepa_mandate md WHERE %s", derived, where)

    @api.model
    def _sequence_type_sql(self, alias, override=True):
        """SQL expression of the next sequence type ('first' or 'recurring') of the
        mandate of table alias ``alias``, for queries that read mandates anyway (the
        proposal's candidates: no list of thousands of ids to send). The caller flushes
        (``_flush_sequence_history``)."""
        md = SQL.identifier(alias)
        derived = SQL(
            """CASE WHEN EXISTS (
                   SELECT FROM sepa_batch_line l
                    WHERE l.mandate_id = %(md)s.id
                      AND l.id > COALESCE(%(md)s.sequence_history_start, 0)
                      AND (l.state = 'collected' OR EXISTS (
                          SELECT FROM sepa_storno s
                           WHERE s.batch_line_id = l.id AND s.state = 'done'
                             AND s.after_settlement)))
               THEN 'recurring' ELSE 'first' END""", md=md)
        if override:
            return SQL("COALESCE(%s.sequence_type_override, %s)", md, derived)
        return derived

    def _start_sequence_history(self):
        """These mandates are (re)activated: their next debit is a first one again; only
        debits made from now on count (one query, one write per distinct value)."""
        self.env["sepa.batch.line"].flush_model(["mandate_id"])
        last = dict(self.env.execute_query(SQL(
            """SELECT mandate_id, MAX(id) FROM sepa_batch_line
                WHERE mandate_id = ANY(%s) GROUP BY mandate_id""", self.ids)))
        starts = defaultdict(list)
        for mandate in self:
            starts[last.get(mandate.id, 0)].append(mandate.id)
        for start, ids in starts.items():
            self.browse(ids).write(
                {"sequence_history_start": start, "sequence_type_override": False})

    def _invoice_domain(self):
        return [("move_type", "=", "out_invoice"), "|",
                ("sepa_mandate_id", "=", self.id), ("sepa_batch_line_ids.mandate_id", "=", self.id)]

    # ------------------------------------------------------------------
    # CONSTRAINT
    # ------------------------------------------------------------------

    @api.constrains("name")
    def _check_reference(self):
        for mandate in self:
            try:
                check_identifier(mandate.name, "MndtId", max_len=35)
            except SepaError as error:
                raise ValidationError(
                    _("Mandate reference %(reference)s is not valid: %(reason)s",
                      reference=mandate.name, reason=error)
                ) from error

    @api.constrains("partner_id", "partner_bank_id")
    def _check_partner_bank(self):
        for mandate in self.filtered("partner_bank_id"):
            bank = mandate.partner_bank_id
            if bank.partner_id.commercial_partner_id != mandate.partner_id:
                # neither the account nor its owner: the user may not be allowed to read them
                raise ValidationError(
                    _("The bank account of mandate %(reference)s does not belong to its "
                      "debtor %(debtor)s.",
                      debtor=mandate.partner_id.display_name, reference=mandate.name)
                )
            try:
                validate_iban(bank.acc_number)
            except SepaError as error:
                raise ValidationError(
                    _("The debtor account %(iban)s of mandate %(reference)s is not a valid "
                      "IBAN: %(reason)s",
                      iban=bank.acc_number, reference=mandate.name, reason=error)
                ) from error

    @api.constrains("signature_date")
    def _check_signature_date(self):
        today = fields.Date.context_today(self)
        for mandate in self:
            if mandate.signature_date and mandate.signature_date > today:
                raise ValidationError(
                    _("The signature date %(date)s of mandate %(reference)s is in the future.",
                      date=mandate.signature_date, reference=mandate.name)
                )

    @api.constrains("company_id")
    def _check_company_of_debits(self):
        """A mandate keeps the company of the invoices and debits that use it: a batch of
        one company never debits a mandate of another (the file reads them in SQL)."""
        self.flush_recordset(["company_id"])
        self.env["account.move"].flush_model(["sepa_mandate_id", "company_id"])
        self.env["sepa.batch.line"].flush_model(["mandate_id", "company_id"])
        moved = self.browse(row[0] for row in self.env.execute_query(SQL(
            """SELECT md.id FROM sepa_mandate md
                WHERE md.id = ANY(%s)
                  AND (EXISTS (SELECT FROM account_move m WHERE m.sepa_mandate_id = md.id
                                  AND m.company_id <> md.company_id)
                       OR EXISTS (SELECT FROM sepa_batch_line l WHERE l.mandate_id = md.id
                                     AND l.company_id <> md.company_id))""", self.ids)))
        if moved:
            raise ValidationError(_(
                "Mandate %(references)s is used by invoices or direct debits of its company: "
                "it cannot move to another company.",
                references=", ".join(moved.mapped("name"))))

    @api.constrains("mandate_type", "invoice_id")
    def _check_invoice(self):
        for mandate in self.filtered("invoice_id"):
            if mandate.mandate_type != "one_off":
                raise ValidationError(
                    _("Mandate %(reference)s is recurring: only a one-off mandate can be "
                      "given for a single invoice.", reference=mandate.name)
                )

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        partners = self.env["res.partner"].browse(
            [vals["partner_id"] for vals in vals_list if vals.get("partner_id")]
        )
        commercial = {partner.id: partner.commercial_partner_id.id for partner in partners}
        creditors = {}  # company id: its first creditor
        for vals in vals_list:
            if not vals.get("creditor_id") and "default_creditor_id" not in self.env.context:
                company_id = vals.get("company_id") or self.env.company.id
                if company_id not in creditors:
                    creditors[company_id] = self.env["sepa.creditor"]._default_for_company(
                        self.env["res.company"].browse(company_id)).id
                vals["creditor_id"] = creditors[company_id]
            if vals.get("partner_id"):
                vals["partner_id"] = commercial[vals["partner_id"]]
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id"))
                vals["name"] = self.env["ir.sequence"].with_company(
                    company or self.env.company
                ).next_by_code("sepa.mandate")
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("partner_id"):
            partner = self.env["res.partner"].browse(vals["partner_id"])
            vals["partner_id"] = partner.commercial_partner_id.id
        if "partner_bank_id" in vals or "name" in vals:
            self._record_amendment(vals)
        if vals.get("creditor_id"):
            self._record_creditor_change(vals["creditor_id"])
        if "partner_bank_id" in vals and "invalid_account_storno_id" not in vals:
            new_iban = self.env["res.partner.bank"].browse(vals["partner_bank_id"]).acc_number
            self._clear_invalid_account({m.id: m.debtor_iban for m in self}, new_iban)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = self.filtered(lambda m: m.state != "draft" or m.last_debit_date)
        if used:
            raise UserError(
                _("Only mandates that are still to be signed can be deleted; close or revoke "
                  "these instead: %(references)s",
                  references=", ".join(used.mapped("name")))
            )

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _record_amendment(self, vals):
        """Keep the original IBAN/reference when an active mandate changes.

        The first change after the last successful debit is what the bank must be told;
        changing back to the original value cancels the amendment.
        """
        for mandate in self.filtered(lambda m: m.state == "active"):
            amendment = {}
            if "partner_bank_id" in vals:
                new_iban = self.env["res.partner.bank"].browse(vals["partner_bank_id"]).acc_number
                amendment.update(mandate._amended_value(
                    "original_iban", mandate.debtor_iban, new_iban, compact=True))
            if "name" in vals:
                amendment.update(mandate._amended_value(
                    "original_reference", mandate.name, vals["name"]))
            if amendment:
                super(SepaMandate, mandate).write(amendment)

    def _sepa_creditor_name(self):
        """The name the mandate names as creditor: its creditor's, else the company's."""
        self.ensure_one()
        return self.creditor_id.name or self.company_id.name

    def _sepa_creditor_identifier(self):
        """The mandate's creditor identifier: its creditor's, else the company's."""
        self.ensure_one()
        return self.creditor_id.identifier or self.company_id.sepa_creditor_identifier

    @api.model
    def _creditor_amendment_domain(self, creditor):
        """The mandates of ``creditor`` whose identifier the debtors' banks know: active
        and used (a debit was collected)."""
        return [("creditor_id", "=", creditor.id), ("state", "=", "active"),
                ("last_debit_date", "!=", False)]

    def _record_creditor_change(self, creditor_id):
        """These mandates move to creditor ``creditor_id``: the used ones report the
        identifier their debtors' banks know (the first change since the last successful
        debit) with the next debit; back to it cancels the amendment. One write per
        case."""
        new = self.env["sepa.creditor"].browse(creditor_id)
        used = self.filtered(lambda m: m.state == "active" and m.last_debit_date
                             and m.creditor_id and m.creditor_id != new)
        back = used.filtered(lambda m: m.original_creditor_identifier == new.identifier)
        super(SepaMandate, back).write({"original_creditor_identifier": False,
                                        "original_creditor_name": False})
        for creditor, mandates in (used - back).filtered(
                lambda m: not m.original_creditor_identifier).grouped("creditor_id").items():
            super(SepaMandate, mandates).write({
                "original_creditor_identifier": creditor.identifier,
                "original_creditor_name": creditor.name})

    def _amended_value(self, field, current, new, compact=False):
        def norm(value):
            return (value or "").replace(" ", "").upper() if compact else (value or "")

        original = self[field] or norm(current)
        if not original or norm(new) == norm(current):
            return {}
        return {field: False if norm(new) == norm(original) else original}

    def _register_successful_debit(self, collection_date):
        """A debit on these mandates collected on ``collection_date`` was settled.

        The last debit date never goes back (batches may settle out of order), a
        sequence type override is done with (the settled debit makes the next one
        Recurring, see ``_sepa_next_sequence_types``) and one-off mandates are closed.
        Pending amendments are the settlement's business: it clears those the debit
        reported.
        """
        self.filtered(
            lambda m: not m.last_debit_date or m.last_debit_date < collection_date
        ).write({"last_debit_date": collection_date})
        self.filtered("sequence_type_override").write({"sequence_type_override": False})
        self.filtered(lambda m: m.mandate_type == "one_off" and m.state == "active").write(
            {"state": "closed"})

    # ------------------------------------------------------------------
    # STORNO SCORE (a function of the log ``sepa.storno.event``)
    # ------------------------------------------------------------------

    @api.model
    def _storno_score_sql(self, mandate_ids, bounds=None):
        """The storno score of each mandate of ``mandate_ids``, from its log: the points
        of its registered stornos (cancelled ones left out) since its last reset. A
        reset of a settled batch counts while a debit of the mandate in that batch is
        collected: a return of that very debit undoes it, cancelling the return brings
        it back. ``bounds`` (one per mandate id): the score just before that event id
        instead of now. Rows ``(id, bound, score, reset_id, reset_batch_id,
        company_id)``; the caller flushes (``_flush_storno_score``)."""
        bounds = bounds or [SCORE_NOW] * len(mandate_ids)
        return SQL("""
            WITH m AS (SELECT * FROM unnest(%s::int[], %s::int[]) AS m(id, bound)),
            reset AS (
                SELECT DISTINCT ON (m.id, m.bound) m.id, m.bound, r.id AS reset_id,
                       r.batch_id
                  FROM m JOIN sepa_storno_event r ON r.mandate_id = m.id AND r.id < m.bound
                 WHERE r.kind = 'reset'
                   AND (r.batch_id IS NULL OR EXISTS (
                        SELECT FROM sepa_batch_line l
                         WHERE l.batch_id = r.batch_id AND l.mandate_id = r.mandate_id
                           AND l.state = 'collected'))
              ORDER BY m.id, m.bound, r.id DESC)
            SELECT m.id, m.bound,
                   COALESCE(SUM(e.points) FILTER (WHERE s.state = 'done'), 0)::int AS score,
                   reset.reset_id, reset.batch_id AS reset_batch_id, md.company_id
              FROM m
              JOIN sepa_mandate md ON md.id = m.id
         LEFT JOIN reset ON reset.id = m.id AND reset.bound = m.bound
         LEFT JOIN sepa_storno_event e ON e.mandate_id = m.id AND e.kind = 'storno'
                                      AND e.id > COALESCE(reset.reset_id, 0)
                                      AND e.id < m.bound
         LEFT JOIN sepa_storno s ON s.id = e.storno_id
          GROUP BY m.id, m.bound, reset.reset_id, reset.batch_id, md.company_id""",
            list(mandate_ids), list(bounds))

    @api.model
    def _flush_storno_score(self):
        """Flush what ``_storno_score_sql`` reads."""
        self.env["sepa.storno.event"].flush_model(
            ["mandate_id", "kind", "points", "storno_id", "batch_id"])
        self.env["sepa.storno"].flush_model(["state"])
        self.env["sepa.batch.line"].flush_model(["batch_id", "mandate_id", "state"])
        self.flush_model(["company_id"])

    @api.model
    def _storno_score_rows(self, mandate_ids, bounds=None):
        """``_storno_score_sql`` read: ``{mandate id: row}`` (with ``bounds``:
        ``{(mandate id, bound): row}``)."""
        if not mandate_ids:
            return {}
        self._flush_storno_score()
        rows = self.env.execute_query_dict(self._storno_score_sql(mandate_ids, bounds))
        if bounds:
            return {(row["id"], row["bound"]): row for row in rows}
        return {row["id"]: row for row in rows}

    @api.model
    def _compute_storno_scores(self, mandate_ids):
        """Store the score of the mandates of ``mandate_ids`` as their log says, in one
        statement; return ``{mandate id: score}`` (the score is not tracked and nothing
        stored depends on it; the ORM writes a hundred rows at a time)."""
        mandate_ids = list(mandate_ids)
        if not mandate_ids:
            return {}
        self._flush_storno_score()
        self.flush_model(["storno_score"])
        rows = self.env.execute_query(SQL(
            """WITH score AS (%s),
                    changed AS (
                        UPDATE sepa_mandate md SET storno_score = score.score,
                               write_uid = %s, write_date = %s
                          FROM score
                         WHERE md.id = score.id
                           AND md.storno_score IS DISTINCT FROM score.score)
               SELECT id, score FROM score""",
            self._storno_score_sql(mandate_ids), self.env.uid, self.env.cr.now()))
        mandates = self.browse(mandate_ids)
        mandates.invalidate_recordset(["storno_score", "write_uid", "write_date"])
        mandates.modified(["storno_score"])
        return dict(rows)

    def _scored_stornos(self):
        """The registered stornos counted in the score of this mandate: those since its
        last reset (``_storno_score_sql``)."""
        self.ensure_one()
        reset_id = self._storno_score_rows([self.id])[self.id]["reset_id"] or 0
        events = self.storno_event_ids.filtered(
            lambda event: event.kind == "storno" and event.id > reset_id)
        return events.storno_id.filtered(lambda storno: storno.state == "done").sorted(
            lambda s: (s.date, s.id))

    def _reset_storno_score(self, batch, date):
        """A debit of these mandates in ``batch`` was settled without storno (its batch
        lines are collected) or, without ``batch``, they were reactivated: their score
        is 0 again, one reset event each. Logged where it changes the score, or would
        once a return of an earlier settled debit undoes that debit's reset (a refund
        comes up to eight weeks later). A few queries for any number of mandates."""
        rows = self._storno_score_rows(self.ids)
        scores = {mandate_id: row["score"] for mandate_id, row in rows.items()
                  if row["score"]}
        voidable = {mandate_id: row["reset_id"] for mandate_id, row in rows.items()
                    if not row["score"] and row["reset_batch_id"]}
        if voidable:
            before = self._storno_score_rows(list(voidable), list(voidable.values()))
            scores.update({mandate_id: 0 for mandate_id, reset_id in voidable.items()
                           if before[mandate_id, reset_id]["score"]})
        if not scores:
            return
        insert_records(self.env["sepa.storno.event"], [{
            "mandate_id": mandate_id, "kind": "reset", "points": -score, "score": 0,
            "date": date, "batch_id": batch.id if batch else False,
            "company_id": rows[mandate_id]["company_id"],
        } for mandate_id, score in scores.items()])
        self._compute_storno_scores(scores)

    @api.model
    def _reset_storno_score_at(self, resets):
        """Debits that had failed when their batch was settled are collected after all
        (their storno was cancelled): the reset that settlement would have made, at its
        place in the log. ``resets``: ``[(mandate id, batch id, date, event id)]``, the
        event id reserved when the batch was settled (``sepa.storno.settlement_position``);
        none where the mandate has a reset of that batch. The caller recomputes the
        scores (``_compute_storno_scores``)."""
        Event = self.env["sepa.storno.event"]
        Event.flush_model()
        known = set(self.env.execute_query(SQL(
            """SELECT mandate_id, batch_id FROM sepa_storno_event
                WHERE kind = 'reset' AND mandate_id = ANY(%s) AND batch_id = ANY(%s)""",
            [reset[0] for reset in resets], [reset[1] for reset in resets])))
        todo = {(mandate_id, batch_id): (date, position)
                for mandate_id, batch_id, date, position in resets
                if (mandate_id, batch_id) not in known}
        if not todo:
            return
        keys = list(todo)
        before = self._storno_score_rows([key[0] for key in keys],
                                         [todo[key][1] for key in keys])
        rows = [(todo[key][1], key[0], key[1], todo[key][0],
                 -before[key[0], todo[key][1]]["score"],
                 before[key[0], todo[key][1]]["company_id"]) for key in keys]
        # at the reserved id: the log is read in the order of its ids
        self.env.execute_query(SQL(
            """INSERT INTO sepa_storno_event (id, mandate_id, batch_id, date, points,
                   company_id, kind, score, create_uid, create_date, write_uid, write_date)
               SELECT *, 'reset', 0, %s, %s, %s, %s
                 FROM unnest(%s::int[], %s::int[], %s::int[], %s::date[], %s::int[],
                             %s::int[])""",
            self.env.uid, self.env.cr.now(), self.env.uid, self.env.cr.now(),
            *[list(column) for column in zip(*rows, strict=True)]))
        self.browse(key[0] for key in keys).invalidate_recordset(["storno_event_ids"])

    def _record_account_change(self, old_ibans):
        """The account of these mandates was edited on the bank account record itself:
        record the amendment as if another account had been chosen.

        ``old_ibans``: ``{mandate id: IBAN before the change}``. One write per value.
        """
        amended = defaultdict(list)
        for mandate in self.filtered(lambda m: m.state == "active"):
            amendment = mandate._amended_value(
                "original_iban", old_ibans[mandate.id], mandate.debtor_iban, compact=True)
            if amendment:
                amended[amendment["original_iban"]].append(mandate.id)
        for original_iban, ids in amended.items():
            self.browse(ids).write({"original_iban": original_iban})

    def _clear_invalid_account(self, old_ibans, new_iban=None):
        """The account of these mandates changed (``old_ibans``: ``{mandate id: IBAN
        before}``; ``new_iban``: the new one, else the mandate's now): an account a
        failed debit said was no longer valid is no longer theirs. One write."""
        def norm(iban):
            return (iban or "").replace(" ", "").upper()

        changed = self.filtered(lambda m: m.invalid_account_storno_id and norm(
            old_ibans.get(m.id)) != norm(new_iban if new_iban is not None else m.debtor_iban))
        if changed:
            super(SepaMandate, changed).write({"invalid_account_storno_id": False})

    def _check_can_activate(self):
        problems = []
        for mandate in self:
            missing = []
            if not mandate.signature_date:
                missing.append(_("signature date"))
            if not mandate.partner_bank_id:
                missing.append(_("debtor bank account"))
            if missing:
                problems.append(_("%(reference)s (%(partner)s): %(missing)s",
                                  reference=mandate.name, partner=mandate.partner_id.name,
                                  missing=", ".join(missing)))
        if problems:
            raise UserError(
                _("These mandates cannot be activated, they lack:\n%s", "\n".join(problems))
            )


    def _revoke(self, date, reason):
        self._check_state(("draft", "active"), _("revoke"))
        self.write({"state": "revoked", "revocation_date": date, "revocation_reason": reason})

    def _reactivate(self, signature_date):
        self._check_state(("revoked", "expired"), _("reactivate"))
        for mandate in self:
            if mandate.signature_date and signature_date <= mandate.signature_date:
                raise UserError(
                    _("Mandate %(reference)s needs a new signature: the new signature date "
                      "must be after %(date)s.",
                      reference=mandate.name, date=mandate.signature_date)
                )
        self._reset_storno_score(False, signature_date)
        self._start_sequence_history()
        self.write({
            "state": "active",
            "signature_date": signature_date,
            "revocation_date": False,
            "revocation_reason": False,
        })

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_activate(self):
        self._check_state(("draft",), _("activate"))
        self._check_can_activate()
        self._start_sequence_history()
        self.write({"state": "active"})

    def action_revoke(self):
        return self._open_wizard("sepa.mandate.revoke", _("Revoke Mandate"))

    def action_reactivate(self):
        self._check_state(("revoked", "expired"), _("reactivate"))
        return self._open_wizard("sepa.mandate.reactivate", _("Reactivate Mandate"))

    def action_close(self):
        self._check_state(("draft", "active"), _("close"))
        self.write({"state": "closed"})

    def action_print_mandate(self):
        self.company_id._sepa_check_creditor_identifier()
        return self.env.ref("sepa_direct_debit.action_report_sepa_mandate").report_action(self)

    def action_open_invoices(self):
        """Smart button: the invoices of the mandate."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type")
        action.update({
            "domain": self._invoice_domain(),
            "context": {"default_move_type": "out_invoice", "create": False},
            "name": _("Invoices of %(mandate)s", mandate=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def action_open_batches(self):
        """Smart button: the batches with a debit of the mandate."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_batch")
        action.update({
            "domain": [("line_ids.mandate_id", "=", self.id)],
            "name": _("Batches of %(mandate)s", mandate=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def action_open_stornos(self):
        """Smart button: the failed debits of the mandate."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_storno")
        action.update({
            "domain": [("mandate_id", "=", self.id)],
            "name": _("Failed Debits of %(mandate)s", mandate=self.name),
        })
        action["display_name"] = action["name"]  # the title the web client shows
        return action

    def _open_wizard(self, model, title):
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    # ------------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------------

    @api.model
    def _expiry_limit_date(self):
        return fields.Date.context_today(self) - relativedelta(months=EXPIRY_MONTHS)

    @api.model
    def _cron_expire_mandates(self, limit=EXPIRY_CRON_LIMIT):
        """Expire active recurring mandates unused for 36 months, in bounded chunks."""
        limit_date = self._expiry_limit_date()
        domain = [
            ("state", "=", "active"),
            ("mandate_type", "=", "recurring"),
            "|",
            ("last_debit_date", "<", limit_date),
            "&", ("last_debit_date", "=", False), ("signature_date", "<", limit_date),
        ]
        mandates = self.search(domain, limit=limit + 1)
        remaining = len(mandates) > limit
        mandates = mandates[:limit]
        mandates._expire()
        if remaining:
            self.env.ref("sepa_direct_debit.ir_cron_sepa_mandate_expiry")._trigger()
        return mandates

    def _expire(self):
        if not self:
            return
        # in the reader's language (mail_message.py)
        parts = {
            mandate.id: [("mandate_expired", {
                "date": {"date": fields.Date.to_string(
                    mandate.last_debit_date or mandate.signature_date)},
                "months": EXPIRY_MONTHS,
            })]
            for mandate in self
        }
        self.with_context(mail_notrack=True).write({"state": "expired"})
        self.env["mail.message"]._sepa_log(self, parts)
