"""Failed debits (stornos): one record per failed debit, its accounting and its score.

``register`` is the one entry point (return files, statement lines, by hand): set-wise,
one entry per call through ``sepa.batch.posting.book_stornos``.
"""


from odoo import _, api, fields, models
from odoo.exceptions import UserError

KINDS = [
    ("reject", "Reject"),
    ("return", "Return"),
    ("refund", "Refund"),
    ("reversal", "Reversal"),
]
SOURCES = [("file", "Return File"), ("statement", "Bank Statement"), ("manual", "By Hand")]


class SepaStorno(models.Model):
    _name = "sepa.storno"
    _description = "SEPA Direct Debit Storno (Failed Debit)"
    _inherit = ["mail.thread", "sepa.company.check.mixin"]
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
    source = fields.Selection(
        SOURCES, required=True, default="manual",
        help="Where the storno came from: a return file, a bank statement line or "
        "registered by hand.")
    import_ref = fields.Char(
        string="Imported File", index="btree_not_null",
        help="Identity of the imported file (its hash and name).")
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
        [("none", "To Release"), ("retry", "Retry"), ("hold", "Hold")],
        string="Release", required=True, default="none", index=True, tracking=True,
        help="To Release: the invoices are not collected again until someone decides. "
        "Retry: collectable again (next proposal). Hold: kept out, with a note.")
    hold_note = fields.Char(
        help="Why the invoices of this failed debit are held.")
    points = fields.Integer(
        readonly=True, copy=False,
        help="Storno points this storno added to the mandate's score.")
    event_ids = fields.One2many(
        "sepa.storno.event", "storno_id", string="Score Events",
        help="Changes of the mandate's storno score caused by this storno.")

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

    @api.depends("name", "invoice_ids")
    def _compute_display_name(self):
        for storno in self:
            storno.display_name = storno.name

    @api.ondelete(at_uninstall=False)
    def _unlink_only_cancelled_or_unmatched(self):
        if any(storno.state == "done" for storno in self):
            raise UserError(_("A registered storno cannot be deleted: cancel it first."))
