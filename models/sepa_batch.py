import base64
from collections import defaultdict
from decimal import Decimal

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..sepa import SepaError
from ..sepa.ids import normalize_iban, pmt_inf_id
from ..sepa.model import Address, Amendment, Batch, Creditor, Debit, PaymentBlock
from ..sepa.pain008 import write_pain008

#: Bulk accounting of a batch: invoices are not re-synchronised (their lines do not
#: change), balance is checked once by the reconciliation, no per-invoice tracking.
BULK_CONTEXT = {"skip_invoice_sync": True, "check_move_validity": False, "mail_notrack": True}


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
    creditor_identifier = fields.Char(
        related="company_id.sepa_creditor_identifier", string="Creditor Identifier",
        help="SEPA creditor identifier of the company.")
    pain_version = fields.Selection(
        [("pain.008.001.02", "pain.008.001.02"), ("pain.008.001.08", "pain.008.001.08")],
        string="pain.008 Version",
        required=True,
        help="Version of the file, from the journal or the company.",
    )
    scheme = fields.Selection(
        [("CORE", "Core"), ("B2B", "Business to business (B2B)")],
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
        compute="_compute_totals", store=True,
        help="Earliest requested collection date of the batch.")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("generated", "File Generated"),
            ("sent", "Sent"),
            ("done", "Settled"),
            ("cancel", "Cancelled"),
        ],
        default="draft",
        required=True,
        copy=False,
        index=True,
        tracking=True,
        help="Draft → File Generated → Sent to the bank → Settled by the bank's credit; "
        "Cancelled undoes everything done before settlement.",
    )
    job_state = fields.Selection(
        [("generate", "Generating the file"), ("send", "Posting the entry")],
        string="In Progress",
        copy=False,
        help="A background job is generating or posting this large batch.",
    )
    file = fields.Binary(
        string="pain.008 File", attachment=True, copy=False, readonly=True,
        help="The generated direct debit file.")
    filename = fields.Char(copy=False, help="Name of the generated file.")
    move_id = fields.Many2one(
        "account.move", string="Journal Entry", readonly=True, copy=False, check_company=True,
        help="Entry posted when the batch was sent.")
    sent_date = fields.Date(readonly=True, copy=False, help="Date the batch was sent.")
    settled_date = fields.Date(readonly=True, copy=False, help="Date the batch was settled.")

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
            batch.id: (amount, count, debits, first_date)
            for batch, amount, count, debits, first_date in self.env["sepa.batch.line"]._read_group(
                [("batch_id", "in", self.ids)],
                groupby=["batch_id"],
                aggregates=["amount:sum", "__count", "end_to_end_id:count_distinct",
                            "collection_date:min"],
            )
        }
        for batch in self:
            amount, count, debits, first_date = totals.get(batch.id, (0.0, 0, 0, False))
            batch.amount_total = amount
            batch.line_count = count
            batch.debit_count = debits
            batch.collection_date = first_date

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
            if not vals.get("pain_version") and vals.get("journal_id"):
                journal = self.env["account.journal"].browse(vals["journal_id"])
                vals["pain_version"] = journal._sepa_pain_version()
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft_or_cancelled(self):
        if any(batch.state not in ("draft", "cancel") for batch in self):
            raise UserError(_("Only draft or cancelled batches can be deleted."))

    # ------------------------------------------------------------------
    # BUSINESS: file generation
    # ------------------------------------------------------------------


    def _check_creditor(self):
        self.ensure_one()
        self.company_id._sepa_check_creditor_identifier()
        if not self.journal_id.bank_account_id.acc_number:
            raise UserError(_("Bank journal %(journal)s has no bank account (IBAN): set it "
                              "on the journal before collecting.", journal=self.journal_id.name))

    def _prepare_creditor(self):
        company = self.company_id
        partner = company.partner_id
        return Creditor(
            name=company.name,
            iban=normalize_iban(self.journal_id.bank_account_id.acc_number),
            bic=self.journal_id.bank_account_id.bank_id.bic or None,
            creditor_id=company.sepa_creditor_identifier,
            address=_address(partner.country_id.code, partner.street, partner.zip,
                             partner.city),
        )

    def _line_rows(self, lines):
        """``(id, end-to-end id, collection date, sequence type, amount)`` of each of
        ``lines``, in their order, the amount as exact text: one query, no records."""
        self.env["sepa.batch.line"].flush_model(
            ["end_to_end_id", "collection_date", "sequence_type", "amount"])
        return self.env.execute_query(SQL(
            """SELECT l.id, l.end_to_end_id, l.collection_date, l.sequence_type,
                      l.amount::text
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
                      l.original_iban, l.original_reference
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
        for _id, e2e, _date, _sequence_type, amount in lines:
            amounts[e2e] += Decimal(amount)
        debits = {}
        for (e2e, reference, signed, name, iban, bic, country, street, postcode, town,
             remittance, original_iban, original_reference) in self._debtor_rows(
                [line[0] for line in lines]):
            iban = normalize_iban(iban or False)
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
                amendment=_amendment(original_iban, original_reference, iban),
            )
        return {e2e: debits[e2e] for e2e in amounts}

    def _prepare_blocks(self, lines, debits):
        """Payment information blocks: one per collection date + sequence type.

        ``lines``: batch lines, or their rows from ``_line_rows``.
        """
        if isinstance(lines, models.BaseModel):
            lines = self._line_rows(lines)
        keys = defaultdict(dict)  # dicts keep the first-seen order of the end-to-end ids
        for _id, e2e, collection_date, sequence_type, _amount in lines:
            keys[(collection_date, sequence_type)][e2e] = True
        block_ids = self._pmt_inf_ids(keys)
        blocks = []
        for key, e2e_ids in sorted(keys.items()):
            collection_date, sequence_type = key
            blocks.append(PaymentBlock(
                pmt_inf_id=block_ids[key],
                collection_date=collection_date,
                sequence_type=sequence_type,
                scheme=self.scheme,
                debits=tuple(debits[e2e] for e2e in e2e_ids),
            ))
        return blocks

    def _pmt_inf_ids(self, keys):
        """``{(collection date, sequence type): PmtInfId}`` of the blocks with these keys:
        numbered in the order of the keys, as in the file."""
        return {key: pmt_inf_id(self.name, number)
                for number, key in enumerate(sorted(keys), start=1)}

    def _prepare_sepa_batch(self):
        self.ensure_one()
        lines = self._line_rows(self.line_ids)
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

        One UPDATE of the lines whose values differ from their mandate's.
        """
        self.env["sepa.mandate"].flush_model(["original_iban", "original_reference"])
        fnames = ["original_iban", "original_reference"]
        self.env["sepa.batch.line"].flush_model([*fnames, "mandate_id", "batch_id"])
        changed = self.env.execute_query(SQL(
            """UPDATE sepa_batch_line l
                  SET original_iban = md.iban, original_reference = md.reference,
                      write_uid = %(uid)s, write_date = %(now)s
                 FROM (SELECT id, NULLIF(original_iban, '') AS iban,
                              NULLIF(original_reference, '') AS reference
                         FROM sepa_mandate) md
                WHERE md.id = l.mandate_id AND l.batch_id IN %(batches)s
                  AND (l.original_iban IS DISTINCT FROM md.iban
                       OR l.original_reference IS DISTINCT FROM md.reference)
            RETURNING l.id""",
            uid=self.env.uid, now=self.env.cr.now(), batches=tuple(self.ids)))
        self.env["sepa.batch.line"].browse(row[0] for row in changed)._updated_in_sql(fnames)

    def _generate_file(self):
        self.ensure_one()
        self._check_creditor()
        self._fix_amendments()
        sepa_batch = self._prepare_sepa_batch()
        try:
            data = write_pain008(sepa_batch, version=self.pain_version,
                                 today=fields.Date.context_today(self))
        except SepaError as error:
            raise UserError(_("The direct debit file of batch %(batch)s is not valid: "
                              "%(reason)s", batch=self.name, reason=error)) from error
        self._store_pmt_inf_ids(sepa_batch)
        self.write({
            "file": base64.b64encode(data),
            "filename": f"{self.name}.xml",
            "state": "generated",
            "job_state": False,
        })
        return data

    def _store_pmt_inf_ids(self, sepa_batch):
        """Store each line's PmtInfId: the id of the block of its collection date and
        sequence type, in one UPDATE.

        The batch creation stores them already: normally no line changes (updating
        lines created in the same transaction makes PostgreSQL check all their foreign
        keys again, about a second for 10,000 lines).
        """
        blocks = sepa_batch.blocks
        self.env["sepa.batch.line"].flush_model(
            ["pmt_inf_id", "collection_date", "sequence_type", "batch_id"])
        changed = self.env.execute_query(SQL(
            """UPDATE sepa_batch_line l
                  SET pmt_inf_id = v.pmt_inf_id, write_uid = %s, write_date = %s
                 FROM unnest(%s::date[], %s::varchar[], %s::varchar[])
                      AS v(collection_date, sequence_type, pmt_inf_id)
                WHERE l.batch_id = %s AND l.collection_date = v.collection_date
                  AND l.sequence_type = v.sequence_type
                  AND l.pmt_inf_id IS DISTINCT FROM v.pmt_inf_id
            RETURNING l.id""",
            self.env.uid, self.env.cr.now(), [block.collection_date for block in blocks],
            [block.sequence_type for block in blocks], [block.pmt_inf_id for block in blocks],
            self.id))
        self.env["sepa.batch.line"].browse(row[0] for row in changed)._updated_in_sql(
            ["pmt_inf_id"])

    # ------------------------------------------------------------------
    # BUSINESS: accounting
    # ------------------------------------------------------------------

    def _receivable_rows(self):
        """Per batch line, its invoice's open receivable lines, read in one query.

        Also says whether the line can be booked set-wise (``untouched``: the
        receivables are in company currency and not matched with anything yet;
        ``cash_basis``: the invoice has cash basis taxes).
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
        """, batch=self.id, cash_basis=bool(self.company_id.tax_exigibility)))

    def _check_still_open(self, rows):
        closed = [row["invoice_name"] for row in rows if not row["receivable_ids"]]
        if closed:
            raise UserError(_(
                "Batch %(batch)s cannot be posted: these invoices have nothing left to "
                "collect (paid or reversed meanwhile): %(invoices)s. Cancel the batch and "
                "propose again.", batch=self.name, invoices=", ".join(closed[:20])))

    def _bulk_rows(self, rows):
        """The rows booked set-wise in SQL; the others go through the ORM.

        Set-wise is only used where Odoo's reconciliation would create nothing but
        partials and a full reconcile: company in euro, no analytic distribution model
        (it could give the line an analytic distribution), untouched receivables on
        one account (the first one's), no cash basis taxes, residual = amount sent;
        and where the entry is not secured by a hash when posted (the set-wise lines
        are written after posting).
        """
        company = self.company_id
        if company.currency_id != self.currency_id \
                or self.journal_id.restrict_mode_hash_table \
                or self.env["account.analytic.distribution.model"].sudo().search_count(
                    [("company_id", "in", (False, company.id))], limit=1):
            return []
        currency = self.currency_id
        bulk = [
            row for row in rows
            if row["account_count"] == 1 and row["untouched"] and not row["cash_basis"]
            and currency.compare_amounts(row["residual"], row["amount"]) == 0
        ]
        return [row for row in bulk if row["account_id"] == bulk[0]["account_id"]]

    def _credit_line_vals(self, row):
        """The receivable credit of one batch line (balance from the residual)."""
        return {
            "name": f"{row['end_to_end_id']} {row['invoice_name']}",
            "account_id": row["account_id"],
            "partner_id": row["partner_id"],
            "balance": -row["residual"],
            "amount_currency": -row["amount"],
            "currency_id": self.currency_id.id,
            "sepa_batch_line_id": row["batch_line_id"],
        }

    def _summary_line_vals(self, bulk):
        """One credit for all ``bulk`` rows, split per invoice once posted."""
        currency = self.currency_id
        return dict(
            self._credit_line_vals(bulk[0]),
            balance=-currency.round(sum(row["residual"] for row in bulk)),
            amount_currency=-currency.round(sum(row["amount"] for row in bulk)),
        )

    def _split_values(self, row, full_id):
        """Columns of one invoice's credit that differ from the posted summary line.

        The line is matched with its full reconcile already (the invoice side follows
        in ``_reconcile_entry``).
        """
        vals = self._credit_line_vals(row)
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

    def _prepare_move_vals(self, rows, orm_rows, bulk):
        """ONE entry: debit transit per payment information block, credit each invoice.

        The credits of ``orm_rows`` are in the values, those of ``bulk`` as one summary
        line. Balances come from the invoices' open receivables (company currency),
        amounts in currency are the euros collected.
        """
        self.ensure_one()
        transit = self.company_id._sepa_transit_account(self.journal_id)
        block_totals = defaultdict(lambda: [0.0, 0.0])
        for row in rows:
            block_totals[row["pmt_inf_id"]][0] += row["residual"]
            block_totals[row["pmt_inf_id"]][1] += row["amount"]
        line_vals = [self._credit_line_vals(row) for row in orm_rows]
        if bulk:
            line_vals.append(self._summary_line_vals(bulk))
        line_vals += [{
            "name": _("Direct debit %(block)s", block=block_id),
            "account_id": transit.id,
            "balance": balance,
            "amount_currency": amount,
            "currency_id": self.currency_id.id,
        } for block_id, (balance, amount) in sorted(block_totals.items())]
        return {
            "move_type": "entry",
            "journal_id": self.journal_id.id,
            "date": self.collection_date,
            "ref": self.name,
            "sepa_batch_id": self.id,
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    def _post_entry(self):
        """Post the batch entry and reconcile every invoice with it.

        The common case (see ``_bulk_rows``) is written set-wise: the entry is posted
        by the ORM with one summary credit for those invoices, which is then split in
        SQL into one credit per invoice; partials and full reconciles are inserted in
        SQL and the ORM recomputes what depends on them. The rest goes through Odoo's
        ``_reconcile_plan`` in one call. The invoices' payment status changes are not
        tracked one chatter message per invoice (that alone took 131 s at commit for
        10,000 invoices).
        """
        self.ensure_one()
        rows = self._receivable_rows()
        self._check_still_open(rows)
        bulk = self._bulk_rows(rows)
        bulk_ids = {row["batch_line_id"] for row in bulk}
        orm_rows = [row for row in rows if row["batch_line_id"] not in bulk_ids]
        env = self.with_context(**BULK_CONTEXT).env
        move = env["account.move"].create(self._prepare_move_vals(rows, orm_rows, bulk))
        move.with_context(sepa_bulk_rank=True)._post(soft=False)
        full_ids = self._split_summary_line(move, bulk)
        env["res.partner"].browse({row["partner_id"] for row in rows})\
            ._sepa_increase_customer_rank()
        self._reconcile_entry(move, rows, full_ids)
        return move

    def _split_summary_line(self, move, bulk):
        """One credit per bulk invoice; returns ``{batch line id: full reconcile id}``."""
        if not bulk:
            return {}
        lines = move.env["account.move.line"]
        full_ids = dict(zip([row["batch_line_id"] for row in bulk],
                            lines._sepa_new_full_reconciles(len(bulk)), strict=True))
        summary = move.line_ids.filtered(
            lambda aml: aml.sepa_batch_line_id.id == bulk[0]["batch_line_id"])
        lines._sepa_expand_line(summary, [
            self._split_values(row, full_ids[row["batch_line_id"]]) for row in bulk])
        return full_ids

    def _reconcile_entry(self, move, rows, full_ids):
        """Reconcile the invoices: set-wise those with a full reconcile, else the ORM."""
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
        invoices = env["account.move"].browse({row["invoice_id"] for row in rows})
        reconciled = lines._sepa_reconcile_invoices(triples)
        # Paid or not, an invoice held by this open batch stays 'In batch' (or 'On hold'),
        # see account.move._sepa_state: nothing to recompute for 100,000 invoices.
        env.remove_to_compute(env["account.move"]._fields["sepa_state"], invoices.browse(
            [row["invoice_id"] for row in rows if row["batch_line_id"] in full_ids]))
        if plan:
            lines._reconcile_plan(plan)
        env.flush_all()  # recompute the invoices' payment state without tracking
        if reconciled:
            invoices.fetch(["payment_state"])  # one read, not one per thousand
            reconciled._reconcile_post_hook({"not_paid_invoices": invoices})
            env.flush_all()

    def _send(self):
        self.ensure_one()
        move = self._post_entry()
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
        return self.action_download() if len(self) == 1 and self.file else True

    def action_download(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/sepa.batch/{self.id}/file/{self.filename}?download=true",
            "target": "self",
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
        sent = self.filtered("move_id")
        # Cancelled first: reversing the entry reconciles the transit lines, which must
        # not be taken for the bank's credit.
        self.write({"state": "cancel", "job_state": False})
        self.line_ids.write({"is_open": False})
        for batch in sent:
            batch._cancel_entry()

    def _cancel_entry(self):
        """Undo the entry: unreconcile the invoices, then reverse it."""
        move = self.with_context(mail_notrack=True).move_id
        move.line_ids.remove_move_reconcile()
        move._reverse_moves(
            [{"ref": _("Cancellation of %(batch)s", batch=self.name),
              "date": fields.Date.context_today(self)}],
            cancel=True,
        )
        move.env.flush_all()

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
        if not self:
            return
        lines = self.line_ids.filtered(lambda line: line.state == "pending")
        lines.write({"state": "collected", "is_open": False})
        by_date = defaultdict(lambda: self.env["sepa.mandate"])
        for line in lines:
            by_date[line.collection_date] |= line.mandate_id
        for collection_date, mandates in by_date.items():
            mandates._register_successful_debit(collection_date)
        self.write({"state": "done", "settled_date": fields.Date.context_today(self)})

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
                targets = batch._match_transit_lines(text, st_line.amount)
                if targets:
                    batch._reconcile_statement_line(st_line, targets)
                    matched |= batch
                    break
        return matched

    def _match_transit_lines(self, text, amount):
        transit = self._transit_lines().filtered(lambda aml: not aml.reconciled)
        currency = self.currency_id
        block_ids = set(self.line_ids.mapped("pmt_inf_id"))
        for line in transit:
            if any(block_id and block_id in text and block_id in line.name
                   for block_id in block_ids) \
                    and currency.compare_amounts(line.balance, amount) == 0:
                return line
        if transit and self.name in text \
                and currency.compare_amounts(sum(transit.mapped("balance")), amount) == 0:
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
        self._check_state(("sent",), _("match bank statements of"))
        st_lines = self.env["account.bank.statement.line"].search([
            ("journal_id", "in", self.journal_id.ids),
            ("is_reconciled", "=", False),
            ("amount", ">", 0),
        ])
        matched = self._match_statement_lines(st_lines)
        if not matched:
            raise UserError(_("No bank statement line matches these batches yet: the line "
                              "must mention the batch reference or a payment information id "
                              "and have the same amount."))
        return True

    # ------------------------------------------------------------------
    # BACKGROUND JOBS
    # ------------------------------------------------------------------

    def _run_in_background(self, job):
        self.ensure_one()
        if self.env.context.get("sepa_no_background"):
            return False
        if len(self.line_ids) <= self.company_id.sepa_background_threshold:
            return False
        self.job_state = job
        self.env.ref("sepa_direct_debit.ir_cron_sepa_batch_jobs")._trigger()
        return True

    @api.model
    def _cron_process_jobs(self):
        """Generate or post one waiting batch; the cron runs again while some remain."""
        domain = [("job_state", "!=", False)]
        batch = self.search(domain, order="id", limit=1).with_context(sepa_no_background=True)
        if not batch:
            return
        if batch.job_state == "generate":
            batch._generate_file()
        else:
            batch._send()
        batch.message_post(body=_("Background job finished."))
        self.env["ir.cron"]._notify_progress(done=1, remaining=self.search_count(domain))


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


def _amendment(original_iban, original_reference, new_iban):
    """The amendment a line reports (its frozen original IBAN and mandate reference)
    when its mandate's account is now ``new_iban`` (normalized)."""
    if not original_iban and not original_reference:
        return None
    original_iban = original_iban or None
    smnda = False
    # Another bank (other bank code in the IBAN): report SMNDA, not the old account.
    if original_iban and (original_iban[:4] != new_iban[:4]
                          or original_iban[4:8] != new_iban[4:8]):
        smnda, original_iban = True, None
    return Amendment(
        original_mandate_id=original_reference or None,
        original_debtor_iban=original_iban,
        smnda=smnda,
    )
