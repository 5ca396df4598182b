from odoo import fields, models


class SepaStornoEvent(models.Model):
    """Log of a mandate's storno score: every change, with the score after it, so the
    score explains itself. The score is a function of this log
    (``sepa.mandate._storno_score_sql``), read in id order: events are only added (the
    reset of a settlement recorded late takes the id reserved at the settlement)."""

    _name = "sepa.storno.event"
    _description = "SEPA Mandate Storno Score Event"
    _order = "mandate_id, id desc"

    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", required=True, index=True, ondelete="cascade",
        help="Mandate whose score changed.")
    company_id = fields.Many2one(
        related="mandate_id.company_id", store=True, index=True, help="Creditor company.")
    storno_id = fields.Many2one(
        "sepa.storno", string="Storno", index="btree_not_null", ondelete="set null",
        help="The storno that changed the score (registered or cancelled).")
    batch_id = fields.Many2one(
        "sepa.batch", string="Settled Batch", index="btree_not_null", ondelete="set null",
        help="For a reset: the batch whose settled debit reset the score.")
    kind = fields.Selection(
        [("storno", "Storno"), ("reset", "Reset by a Settled Debit"),
         ("cancel", "Storno Cancelled"), ("revoke", "Mandate Revoked")],
        required=True,
        help="Storno: a failed debit added its points. Reset: a debit was settled without "
        "storno (or the mandate was reactivated), the score is 0; a return of that debit "
        "undoes it. Storno Cancelled: the score without that storno. Mandate Revoked: "
        "the score reached the threshold.")
    reason_code = fields.Char(help="Reason code of the storno.")
    points = fields.Integer(help="Points added (negative: subtracted).")
    score = fields.Integer(string="Score After", help="The mandate's score after this event.")
    date = fields.Date(required=True, help="Date of the event.")
