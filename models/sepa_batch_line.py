from psycopg2.errors import UniqueViolation

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round
from odoo.tools.sql import create_index

from ..bulk import insert_records
from ..constants import SEQUENCE_TYPES


class SepaBatchLine(models.Model):
    _name = "sepa.batch.line"
    _inherit = ["sepa.company.check.mixin"]
    _description = "SEPA Direct Debit Batch Line"
    _order = "batch_id, debit_number, id"
    _check_company_auto = True

    batch_id = fields.Many2one(
        "sepa.batch",
        string="Batch",
        required=True,
        index=True,
        ondelete="cascade",
        help="The batch (one pain.008 file) this invoice is collected in.",
    )
    company_id = fields.Many2one(
        related="batch_id.company_id", store=True, index=True, help="Creditor company.")
    invoice_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        help="The customer invoice collected.",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Debtor", required=True, index=True, check_company=True,
        help="Commercial entity debited.")
    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", required=True, index=True, ondelete="restrict",
        check_company=True, help="Mandate the debit is collected under.")
    amount = fields.Monetary(
        required=True, help="Amount collected for this invoice (its residual).")
    currency_id = fields.Many2one(
        related="batch_id.currency_id", help="Currency of the batch (EUR).")
    sequence_type = fields.Selection(
        SEQUENCE_TYPES,
        required=True,
        help="SEPA sequence type of the debit (SeqTp).",
    )
    collection_date = fields.Date(
        required=True, help="Requested collection date (ReqdColltnDt).")
    debit_number = fields.Integer(
        required=True,
        help="Number of the debit in the batch; invoices merged into one debit share it.",
    )
    end_to_end_id = fields.Char(
        string="End-to-End Id",
        required=True,
        index=True,
        help="Identifier of the debit sent to the bank and returned with a storno: the "
        "batch reference and the debit number. Merged invoices share it.",
    )
    pmt_inf_id = fields.Char(
        string="Payment Information Id",
        help="Identifier of the payment information block (PmtInfId) of the file.",
    )
    remittance = fields.Char(
        string="Remittance Information",
        help="Unstructured remittance information sent to the debtor: the invoice numbers.",
    )
    original_iban = fields.Char(
        string="Amended From IBAN",
        help="Original debtor IBAN reported as amendment when the file was generated.",
    )
    original_reference = fields.Char(
        string="Amended From Reference",
        help="Original mandate reference reported as amendment when the file was generated.",
    )
    amended_iban = fields.Char(
        string="Amended To IBAN",
        help="For a debit that reported an amendment: the IBAN its file debited. Once the "
        "debit is settled the bank knows this account; a later change is reported next.",
    )
    amended_reference = fields.Char(
        string="Amended To Reference",
        help="For a debit that reported an amendment: the mandate reference its file "
        "carried. Once the debit is settled the bank knows it; a later change is "
        "reported next.",
    )
    original_creditor_identifier = fields.Char(
        string="Amended From Creditor Identifier",
        help="Original creditor identifier reported as amendment when the file was "
        "generated (the mandate moved to another creditor identifier).",
    )
    original_creditor_name = fields.Char(
        string="Amended From Creditor Name",
        help="The creditor name reported with the original creditor identifier.",
    )
    amended_creditor_identifier = fields.Char(
        string="Amended To Creditor Identifier",
        help="For a debit that reported a creditor amendment: the creditor identifier its "
        "file carried. Once the debit is settled the bank knows it; a later change is "
        "reported next.",
    )
    state = fields.Selection(
        [("pending", "Pending"), ("collected", "Collected"), ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
        help="Pending until the batch is settled (collected) or the debit fails.",
    )
    is_open = fields.Boolean(
        string="In Open Batch",
        default=True,
        help="The invoice is held by this batch: it is not draft-cancelled, settled or "
        "failed. The database refuses a second open line for the same invoice.",
    )
    notice_state = fields.Selection(
        [("queued", "Queued"), ("sent", "Notified"), ("failed", "Failed"),
         ("no_email", "No E-mail Address")],
        string="Pre-notification E-mail", readonly=True, copy=False, index=True,
        help="The e-mail telling the customer of this debit before its collection (company "
        "setting Send the Pre-notification: by e-mail or both): queued in the mail queue, "
        "sent (notified), failed (the mail server refused it: see Settings > Technical > "
        "Emails) or not sent because the customer has no e-mail address. Empty when the "
        "company notifies on the invoice only.")
    notified_date = fields.Date(
        string="Pre-notified On", readonly=True, copy=False,
        help="The day the pre-notification e-mail of this debit was sent to the customer.")
    notice_mail_id = fields.Many2one(
        "mail.mail", string="Pre-notification Mail", readonly=True, copy=False,
        ondelete="set null", index="btree_not_null",
        help="The queued e-mail of the pre-notification (deleted once sent).")
    failure_reason_id = fields.Many2one(
        "sepa.return.reason", string="Failure Reason", compute="_compute_failure_reason_id",
        help="Why the debit failed: the reason of its registered storno (invoices merged "
        "into one debit share it).")
    move_line_ids = fields.One2many(
        "account.move.line",
        "sepa_batch_line_id",
        string="Journal Items",
        readonly=True,
        help="Receivable credit of the batch entry reconciled with the invoice.",
    )

    def _compute_failure_reason_id(self):
        """The reason of the registered storno of each failed line's debit (the storno
        points at the debit's first line): one query."""
        failed = self.filtered(lambda line: line.state == "failed" and line.id)
        reasons = {}
        if failed:
            self.env["sepa.storno"].flush_model(["batch_line_id", "state", "reason_id"])
            self.env["sepa.batch.line"].flush_model(["batch_id", "end_to_end_id"])
            reasons = dict(self.env.execute_query(SQL(
                """SELECT l.id, s.reason_id FROM sepa_batch_line l
                     JOIN sepa_batch_line f ON f.batch_id = l.batch_id
                                           AND f.end_to_end_id = l.end_to_end_id
                     JOIN sepa_storno s ON s.batch_line_id = f.id AND s.state = 'done'
                    WHERE l.id = ANY(%s)""", failed.ids)))
        for line in self:
            line.failure_reason_id = reasons.get(line.id, False)

    def init(self):
        # Database-level guarantee: an invoice is in at most one open batch, whatever
        # two users propose at the same moment.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS sepa_batch_line_open_invoice_uniq
            ON sepa_batch_line (invoice_id) WHERE is_open
        """)
        # A return names its debit by company and end-to-end id: one index lookup per
        # transaction, also before PostgreSQL has statistics of a freshly filled table.
        create_index(self.env.cr, "sepa_batch_line_company_e2e_index", self._table,
                     ["company_id", "end_to_end_id"])

    @api.model
    def _create_guarded(self, vals_list):
        """Create lines; a clear error when another batch took one of the invoices.

        The unique index makes a concurrent transaction wait for the first one and fail
        once it commits, so two users can never collect the same invoice twice.
        """
        self.env.flush_all()  # pending updates (e.g. a cancelled batch) go first
        try:
            with self.env.cr.savepoint(flush=False):
                lines = self._create_bulk(vals_list)
        except UniqueViolation:
            invoice_ids = [vals["invoice_id"] for vals in vals_list]
            taken = self.search([("invoice_id", "in", invoice_ids), ("is_open", "=", True)])
            names = ", ".join(f"{line.invoice_id.name} ({line.batch_id.name})"
                              for line in taken[:20])
            raise UserError(_(
                "Another user put some of these invoices in a batch meanwhile; propose "
                "again. %(invoices)s", invoices=names,
            )) from None
        self._check_first_debits_free(vals_list)
        return lines

    @api.model
    def _check_first_debits_free(self, vals_list):
        """Refuse a first debit (FRST) of a mandate whose first debit is still open in
        another batch, also when two users create their batches at the same moment.
        Called once the lines are inserted (a second batch with the same invoice waits
        for the unique index first and gets the error above).

        The invoices differ, so the unique index does not help, and the proposal's check
        is a plain read. So creators of first debits take turns per company: the
        company's row gets an UPDATE that changes nothing. Under Odoo's REPEATABLE READ
        isolation a second transaction waits for the first and, once that one
        committed, fails with a serialization error; Odoo retries the request, which
        then sees the first batch and gets the error below. A lock alone (``SELECT ...
        FOR UPDATE`` of the mandates) would not do: the second transaction would go on
        reading its snapshot from before the first batch existed. Updating the
        mandates' rows instead would cost about 80 ms per 1,000 first debits; batches
        are created rarely enough for one turn per company.
        """
        first = sorted({vals["mandate_id"] for vals in vals_list
                        if vals.get("sequence_type") == "FRST" and vals.get("mandate_id")})
        if not first:
            return
        batch_ids = sorted({vals["batch_id"] for vals in vals_list})
        self.env.cr.execute(SQL(
            """UPDATE res_company SET write_date = write_date
                WHERE id IN (SELECT company_id FROM sepa_batch WHERE id = ANY(%s))""",
            batch_ids),
            log_exceptions=False)  # a serialization failure is expected, not a bad query
        taken = self.env.execute_query(SQL(
            """SELECT DISTINCT md.name, b.name
                 FROM sepa_batch_line l
                 JOIN sepa_mandate md ON md.id = l.mandate_id
                 JOIN sepa_batch b ON b.id = l.batch_id
                WHERE l.is_open AND l.sequence_type = 'FRST' AND l.mandate_id = ANY(%s)
                  AND l.batch_id != ALL(%s)
             ORDER BY md.name, b.name LIMIT 20""", first, batch_ids))
        if taken:
            raise UserError(_(
                "The first debit of these mandates is already in another batch and not "
                "settled yet; a second first debit would be refused by the bank. Propose "
                "again: %(mandates)s",
                mandates=", ".join(f"{mandate} ({batch})" for mandate, batch in taken)))

    @api.model
    def _create_bulk(self, vals_list):
        """``create`` in one INSERT: the ORM's create costs about half a millisecond a
        line (defaults, the currency of each amount, the company checks), seconds for a
        batch of 10,000 invoices. The related company comes from the batch."""
        batches = self.env["sepa.batch"].browse(
            {vals["batch_id"] for vals in vals_list if vals.get("batch_id")})
        batch_data = {batch.id: (batch.company_id.id, batch.currency_id.rounding)
                      for batch in batches.exists()}
        rows = []
        for vals in vals_list:
            company_id, rounding = batch_data.get(vals.get("batch_id"), (False, 0.01))
            row = dict(vals, company_id=company_id)
            if "amount" in vals:
                row["amount"] = float_round(vals["amount"] or 0.0, precision_rounding=rounding)
            rows.append(row)
        lines = insert_records(self, rows)
        lines._check_company_set_wise()
        return lines

    def _check_company_set_wise(self):
        """``_check_company`` of lines inserted in SQL (``insert_records`` skips it): one
        query finds the lines whose invoice, mandate or debtor is in another company than
        the batch; the ORM's check decides on those (branches share their parents')."""
        self.env["account.move"].flush_model(["company_id"])
        self.env["sepa.mandate"].flush_model(["company_id"])
        self.env["res.partner"].flush_model(["company_id"])
        suspects = self.browse(row[0] for row in self.env.execute_query(SQL(
            """SELECT l.id FROM sepa_batch_line l
                 JOIN account_move m ON m.id = l.invoice_id
                 JOIN sepa_mandate md ON md.id = l.mandate_id
                 JOIN res_partner p ON p.id = l.partner_id
                WHERE l.id = ANY(%s)
                  AND (m.company_id IS DISTINCT FROM l.company_id
                       OR md.company_id IS DISTINCT FROM l.company_id
                       OR p.company_id <> l.company_id)""",
            self.ids)))
        suspects._check_company()

    def _updated_in_sql(self, fnames):
        """The lines got new values of ``fnames`` (and the log access columns) by an SQL
        UPDATE: refresh the cache and recompute what depends on them."""
        self.invalidate_recordset([*fnames, "write_uid", "write_date"])
        self.modified(fnames)

    @api.depends("invoice_id", "end_to_end_id")
    def _compute_display_name(self):
        for line in self:
            line.display_name = f"{line.end_to_end_id} {line.invoice_id.name or ''}".strip()

    def action_register_storno(self):
        """Open "Register Storno" for this debit."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sepa.storno.register",
            "views": [(False, "form")],
            "target": "new",
            "name": _("Register Storno"),
            "context": {"default_batch_line_id": self.id},
        }
