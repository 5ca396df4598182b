"""Storno analysis: one row per direct debit of a sent or settled batch, with its
registered storno if it failed (an SQL view, as Odoo's ``account.invoice.report``)."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..constants import SEQUENCE_TYPES
from ..models.sepa_storno import KINDS


class SepaStornoReport(models.Model):
    _name = "sepa.storno.report"
    _description = "Direct Debit Storno Analysis"
    _auto = False
    _rec_name = "end_to_end_id"
    _order = "date desc, id desc"

    # ==== Dimensions ====
    date = fields.Date(
        string="Collection Date", readonly=True,
        help="Requested collection date of the debit: its month is the month of the "
        "storno rate (of the debits collected that month, how many failed).")
    storno_date = fields.Date(
        readonly=True, help="Date of the R-transaction of the debit's storno, if it failed.")
    batch_id = fields.Many2one(
        "sepa.batch", string="Batch", readonly=True, help="Batch the debit was collected in.")
    end_to_end_id = fields.Char(
        string="End-to-End Id", readonly=True, help="Identifier of the debit.")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, help="Debtor of the debit.")
    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", readonly=True,
        help="Mandate the debit was collected under.")
    company_id = fields.Many2one(
        "res.company", string="Company", readonly=True, help="Creditor company.")
    currency_id = fields.Many2one(
        "res.currency", string="Currency", readonly=True, help="Currency of the batch.")
    sequence_type = fields.Selection(
        SEQUENCE_TYPES, readonly=True, help="Sequence type the debit was sent with.")
    storno_id = fields.Many2one(
        "sepa.storno", string="Storno", readonly=True,
        help="The registered storno of the debit, if it failed (cancelled stornos do not "
        "count).")
    reason_id = fields.Many2one(
        "sepa.return.reason", string="Reason", readonly=True,
        help="Return reason of the storno (empty: the debit did not fail).")
    kind = fields.Selection(
        KINDS, readonly=True,
        help="Reject, return, refund or reversal (empty: the debit did not fail).")

    # ==== Measures ====
    debit_count = fields.Integer(
        string="Debits", readonly=True,
        help="Number of debits (invoices merged into one debit count once).")
    debit_amount = fields.Monetary(
        string="Debited Amount", readonly=True, help="Amount of the debits.")
    storno_count = fields.Integer(
        string="Stornos", readonly=True, help="Number of debits that failed.")
    storno_amount = fields.Monetary(
        string="Storno Amount", readonly=True, help="Amount of the debits that failed.")
    storno_rate = fields.Float(
        string="Storno Rate (%)", readonly=True, aggregator="avg", digits=(16, 2),
        help="Stornos per 100 debits. Every row is one debit with 0 or 100, so the "
        "average over any group is exactly its stornos divided by its debits.")

    _depends = {
        "sepa.batch": ["state", "company_id", "currency_id"],
        "sepa.batch.line": ["batch_id", "end_to_end_id", "collection_date", "amount",
                            "partner_id", "mandate_id", "sequence_type"],
        "sepa.storno": ["batch_line_id", "state", "date", "reason_id", "kind", "amount"],
    }

    @property
    def _table_query(self):
        return SQL("%s %s %s", self._select(), self._from(), self._where())

    @api.model
    def _debits(self):
        """One row per debit (batch and end-to-end id) of the sent or settled batches;
        its id is the debit's first batch line, the one a storno points at."""
        return SQL("""
            SELECT MIN(l.id) AS id, l.batch_id, l.end_to_end_id, b.company_id,
                   b.currency_id, MIN(l.collection_date) AS date,
                   MIN(l.partner_id) AS partner_id, MIN(l.mandate_id) AS mandate_id,
                   MIN(l.sequence_type) AS sequence_type, SUM(l.amount) AS amount
              FROM sepa_batch_line l
              JOIN sepa_batch b ON b.id = l.batch_id
             WHERE b.state IN ('sent', 'done')
          GROUP BY l.batch_id, l.end_to_end_id, b.company_id, b.currency_id
        """)

    @api.model
    def _select(self):
        return SQL("""
            SELECT d.id, d.date, d.batch_id, d.end_to_end_id, d.partner_id, d.mandate_id,
                   d.company_id, d.currency_id, d.sequence_type,
                   s.id AS storno_id, s.date AS storno_date, s.reason_id, s.kind,
                   1 AS debit_count, d.amount AS debit_amount,
                   CASE WHEN s.id IS NULL THEN 0 ELSE 1 END AS storno_count,
                   COALESCE(s.amount, 0) AS storno_amount,
                   CASE WHEN s.id IS NULL THEN 0.0 ELSE 100.0 END AS storno_rate
        """)

    @api.model
    def _from(self):
        return SQL("""
              FROM (%s) d
         LEFT JOIN sepa_storno s ON s.batch_line_id = d.id AND s.state = 'done'
        """, self._debits())

    @api.model
    def _where(self):
        return SQL("")
