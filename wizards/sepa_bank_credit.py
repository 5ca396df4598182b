"""Register Bank Credit: the bank's credit of a sent batch typed in from its form.

Odoo Community has no screen to enter a bank statement line; without a bank statement
import a bookkeeper settles a sent batch here. The wizard writes ONE statement line in
the batch's bank journal and reconciles it with the transit lines it pays through
``sepa.batch._reconcile_statement_line``, as the matcher does with an imported line; the
reconciliation settles the batch (``account.move.line._reconcile_post_hook``). An amount
is the open amount of the whole batch or of whole payment information blocks.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount, format_date

from ..sepa.matching import mentions

#: More combinations of open blocks than this: only the whole batch or single blocks.
_MAX_SUMS = 100_000


class SepaBankCredit(models.TransientModel):
    _name = "sepa.bank.credit"
    _description = "Register a SEPA Direct Debit Bank Credit"

    batch_id = fields.Many2one(
        "sepa.batch", string="Batch", required=True, readonly=True, ondelete="cascade",
        help="The sent batch the bank credited.")
    company_id = fields.Many2one(
        related="batch_id.company_id", string="Company",
        help="Creditor company of the batch.")
    journal_id = fields.Many2one(
        related="batch_id.journal_id", string="Bank Journal",
        help="The batch's bank journal: the credit is written on it as a bank statement "
        "line.")
    currency_id = fields.Many2one(
        related="batch_id.currency_id", string="Currency",
        help="Currency of the batch (euro).")
    date = fields.Date(
        required=True, default=fields.Date.context_today,
        help="The day the bank credited the amount (its booking date on the bank "
        "statement): the batch's Settled On. Not in the future, not before the batch was "
        "sent.")
    amount = fields.Monetary(
        required=True, compute="_compute_amount", store=True, readonly=False,
        precompute=True,
        help="What the bank credited: what it still owes for the whole batch (proposed), "
        "or the open amount of one or more whole payment information blocks when the bank "
        "credits each collection date separately.")
    bank_reference = fields.Char(
        help="The bank's reference of the credit, as on the bank statement (optional): "
        "written in the label of the bank statement line.")
    open_blocks = fields.Text(
        string="Open Payment Blocks", compute="_compute_open_blocks",
        help="The payment information blocks the bank has not credited yet: block id, "
        "collection date and open amount, one per line.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("batch_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.batch_id.currency_id.round(
                sum(block["amount"] for block in _open_blocks(wizard.batch_id._origin)))

    @api.depends("batch_id")
    def _compute_open_blocks(self):
        for wizard in self:
            wizard.open_blocks = "\n".join(
                wizard._describe(block) for block in _open_blocks(wizard.batch_id._origin)
            ) or False

    def _describe(self, block):
        return _("%(block)s (collection date %(date)s): %(amount)s",
                 block=block["block"],
                 date=format_date(self.env, block["collection_date"]) or "-",
                 amount=format_amount(self.env, block["amount"], self.currency_id))

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_confirm(self):
        """Write the bank's credit and reconcile it with the transit lines it pays."""
        self.ensure_one()
        batch = self.batch_id
        if batch.sudo().company_id not in self.env.companies:
            raise UserError(_("This batch is of a company you are not working in: switch "
                              "to its company to register its bank credit."))
        batch._check_state(("sent",), _("register a bank credit for"))
        self._check_date()
        currency = batch.currency_id
        if currency.compare_amounts(self.amount, 0) <= 0:
            raise UserError(_("The amount the bank credited must be greater than zero."))
        blocks = _open_blocks(batch)
        paid = self._blocks_paid(blocks)
        st_line = self._create_statement_line(paid, len(paid) == len(blocks))
        transit = self.env["account.move.line"].union(*(block["line"] for block in paid))
        if not batch._reconcile_statement_line(st_line, transit):
            raise UserError(_("The bank statement line of this credit could not be "
                              "reconciled with the batch's transit lines."))
        paid_ids = {block["block"] for block in paid}
        open_ones = [block for block in blocks if block["block"] not in paid_ids]
        self._post_note(paid, open_ones)
        return {"type": "ir.actions.act_window_close"}

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    def _check_date(self):
        today = fields.Date.context_today(self)
        if self.date > today:
            raise UserError(_("The bank cannot have credited the batch in the future: give "
                              "the date of the credit on the bank statement (%(date)s is "
                              "later than today).", date=format_date(self.env, self.date)))
        sent = self.batch_id.sent_date
        if sent and self.date < sent:
            raise UserError(_(
                "The bank cannot have credited batch %(batch)s on %(date)s: it was sent on "
                "%(sent)s. Give the date of the credit on the bank statement.",
                batch=self.batch_id.name, date=format_date(self.env, self.date),
                sent=format_date(self.env, sent)))

    def _blocks_paid(self, blocks):
        """The open blocks the amount pays: all of them when it is their total, else the
        fewest whole blocks whose open amounts add up to it, the earliest collected
        first (the bank credits them in date order). Refused when none add up."""
        cents = _cents(self.amount)
        if not blocks:
            raise UserError(_("Batch %(batch)s has nothing left to credit.",
                              batch=self.batch_id.name))
        if cents == sum(_cents(block["amount"]) for block in blocks):
            return blocks
        best = {0: ()}  # open cents: the best combination of block indexes
        for index, block in enumerate(blocks):
            step = _cents(block["amount"])
            for total, combination in list(best.items()):
                candidate, new = combination + (index,), total + step
                if new not in best or (len(candidate), candidate) < (len(best[new]),
                                                                     best[new]):
                    best[new] = candidate
            if len(best) > _MAX_SUMS:  # too many to combine: single blocks only
                best = {0: ()}
                for single, other in reversed(list(enumerate(blocks))):
                    best[_cents(other["amount"])] = (single,)
                break
        combination = best.get(cents) if cents else None
        if not combination:
            raise UserError(_(
                "The bank credits a batch as a whole or per payment information block "
                "(collection date): %(amount)s is neither what it still owes for batch "
                "%(batch)s (%(total)s) nor the open amount of whole blocks. Its open "
                "blocks:\n%(blocks)s",
                amount=format_amount(self.env, self.amount, self.currency_id),
                batch=self.batch_id.name,
                total=format_amount(self.env, sum(block["amount"] for block in blocks),
                                    self.currency_id),
                blocks="\n".join(self._describe(block) for block in blocks)))
        return [blocks[index] for index in combination]

    def _create_statement_line(self, paid, whole):
        """ONE bank statement line of the credit in the batch's bank journal, its label
        the batch reference (or the ids of the blocks it pays) and the bank's reference.

        Created as superuser: Odoo lets only accountants create statement lines, a
        billing user registers the credit of a batch they may settle (checked above).
        The batch matcher is skipped: the blocks are chosen, the caller reconciles."""
        batch = self.batch_id
        label = batch.name if whole else " ".join(block["block"] for block in paid)
        vals = {
            "journal_id": batch.journal_id.id,
            "date": self.date,
            "payment_ref": " ".join(filter(None, [label, (self.bank_reference or "").strip()])),
            "amount": self.amount,
        }
        journal_currency = batch.journal_id.currency_id or batch.company_id.currency_id
        if journal_currency != batch.currency_id:
            vals.update({
                "amount": batch.currency_id._convert(
                    self.amount, journal_currency, batch.company_id, self.date),
                "foreign_currency_id": batch.currency_id.id,
                "amount_currency": self.amount,
            })
        st_line = self.env["account.bank.statement.line"].sudo().with_context(
            sepa_skip_match=True).create(vals)
        return st_line.with_env(self.env)

    def _post_note(self, paid, open_ones):
        """ONE note on the batch, in the reader's language: the credit, the blocks it
        pays and those still open (id, collection date, amount)."""
        currency = self.currency_id.id
        parts = [("bank_credit", {
            "amount": {"amount": self.amount, "currency_id": currency},
            "date": {"date": fields.Date.to_string(self.date)},
            "paid": ", ".join(block["block"] for block in paid)})]
        if self.bank_reference:
            parts.append(("bank_credit_reference", {"reference": self.bank_reference}))
        if open_ones:
            parts.append(("bank_credit_open", {}))
            parts += [("bank_credit_open_block", {
                "block": block["block"],
                "date": {"date": fields.Date.to_string(block["collection_date"])},
                "amount": {"amount": block["amount"], "currency_id": currency},
            }) for block in open_ones]
        else:
            parts.append(("bank_credit_settled", {}))
        self.env["mail.message"]._sepa_log(self.batch_id, {self.batch_id.id: parts})


def _cents(amount):
    return round(amount * 100)


def _open_blocks(batch):
    """``[{block, collection_date, amount, line}]``: the payment information blocks of
    ``batch`` whose transit line is not reconciled yet, with their open amount (in the
    batch's currency: the rejects before settlement are reconciled already), in the
    order of their collection dates."""
    if not batch or not batch.move_id:
        return []
    dates = {}
    for block_id, collection_date in batch.line_ids.mapped(
            lambda line: (line.pmt_inf_id, line.collection_date)):
        if block_id and (block_id not in dates or collection_date < dates[block_id]):
            dates[block_id] = collection_date
    blocks = []
    for aml in batch._transit_lines().filtered(lambda aml: not aml.reconciled):
        block_id = next((block for block in dates if mentions(aml.name, block)), aml.name)
        blocks.append({"block": block_id, "collection_date": dates.get(block_id),
                       "amount": aml.amount_residual_currency, "line": aml})
    return sorted(blocks, key=lambda block: (block["collection_date"] or fields.Date.today(),
                                             block["line"].id))
