"""Bank statement lines and direct debits.

A line that credits the bank settles a sent batch (``sepa.batch._match_statement_lines``).
A line that debits the bank, mentions the end-to-end id of a debit of a sent or settled
batch and is its return (``sepa.return.matcher``: the bank's code allows it, the creditor
identifier is ours when given, the bank took the debit plus at most the maximum bank
charge) is that debit's storno (``_sepa_register_stornos``): registered through
``sepa.storno.register`` and reconciled; one that is not is left open, why in its
chatter. A user who reconciles a bank debit by hand with the batch entry, the invoice or
its receivable gets the same (``_sepa_reroute_plan``, called by
``account.move.line._reconcile_plan``): the bookkeeper decided, the matcher's rule does not
apply.
"""

import html
import logging
import re
from collections import defaultdict
from decimal import Decimal

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..sepa.matching import (
    MAY_BE_RETURN,
    bank_code_in,
    bank_debit_category,
    creditor_ids_in,
    identifier_candidates,
    json_strings,
    judge_return,
    mentions,
    reversal_in,
)
from ..sepa.readers.camt import RETURN_TYPES, storno_kind
from ..sepa.reasons import CATALOGUE
from .sepa_return_matcher import CENT, BankDebit

_logger = logging.getLogger(__name__)

#: Context key: the reconciliation hook leaves the plan alone (our own reconciliations).
HOOK_OFF = "sepa_storno_hook_off"
#: Context key: ``{statement line id: account id}``, the account a storno registered from
#: that line books its counterpart on (the one the user chose); default: the company's
#: stornos outstanding account.
COUNTERPARTS = "sepa_storno_counterparts"

#: A reason code after its label: camt's ``Rsn/Cd`` (OCA's camt import writes
#: "Return Reason Code (RtrInf/Rsn/Cd): AM04" in the notes), "reason (code)", "reden".
_LABELLED_REASON = re.compile(
    r"(?i:Rsn/(?:Cd|Prtry)\)?|\breason(?:\s+code)?|\bredencode|\breden)\s*[:=]?\s*"
    r"([A-Z0-9]{4})(?![0-9A-Za-z])")
#: A catalogued code written alone (upper case, whole word), e.g. "STORNO AM04".
_CODE_WORD = re.compile(r"(?<![0-9A-Za-z-])([A-Z][A-Z0-9]{3})(?![0-9A-Za-z-])")
#: ``/RTYP/RFND`` markers some banks write (see ``sepa.readers.camt``).
_RTYP = re.compile(r"/RTYP/([A-Z]{4})")
_TAG = re.compile(r"<[^>]*>")
#: Keys of transaction details (a bank's JSON) holding the reason.
_REASON_KEYS = ("Rsn", "RtrRsn", "reason", "reason_code", "ReasonCode")


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if self.env.context.get("sepa_skip_match"):
            return lines
        incoming = lines.filtered(lambda line: line.amount > 0)
        if incoming:
            self.env["sepa.batch"]._match_statement_lines(incoming)
        outgoing = lines.filtered(lambda line: line.amount < 0)
        if outgoing:
            outgoing._sepa_register_stornos_quietly()
        return lines

    # ------------------------------------------------------------------
    # STORNOS FROM BANK DEBITS
    # ------------------------------------------------------------------

    def _sepa_register_stornos_quietly(self):
        """``_sepa_register_stornos`` when lines are imported: a refusal (a storno
        charges account missing, another user registering the same debit) must not stop
        the import; the lines stay to reconcile by hand."""
        try:
            with self.env.cr.savepoint():
                return self._sepa_register_stornos()
        except UserError as error:
            if len(self) == 1:
                _logger.warning("Bank debit %s not registered as a storno: %s", self.id, error)
                return self.env["sepa.storno"]
        # one refused: the others one by one (the exception, not the rule)
        stornos = self.env["sepa.storno"]
        for line in self:
            stornos |= line._sepa_register_stornos_quietly()
        return stornos

    def _sepa_register_stornos(self, batches=None):
        """Register the stornos these bank debits carry and reconcile the lines.

        A line that debits the bank, is not reconciled yet and mentions (as a whole word,
        in its label, reference, notes or transaction details) the end-to-end id of a
        debit of a sent or settled batch of its company (of ``batches`` when given) is
        that debit's storno when ``sepa.return.matcher`` says it is its return: its bank
        transaction code (when given) is that of a returned direct debit, the creditor
        identifier (when the bank gives one) is ours, and the bank took the debit's amount
        plus at most the company's maximum bank charge per storno. Kind return (refund or
        reversal when the details say so), reason from the details, else unknown
        ("NONE"), the debit's amount; what the bank took more is its charge. Registered in
        one ``register`` call, then each line's suspense line is booked on the storno's
        outstanding account and reconciled with it. A debit that failed already (a return
        file) is not registered again: the line is reconciled with that storno's open
        outstanding line when the amounts agree. A line that names a debit but is not its
        return is left open, the reason logged in its chatter (one message per line, all
        in one go; not again by Match Bank Statements, ``batches`` given). Returns the
        stornos registered or reconciled.
        """
        Storno = self.env["sepa.storno"].with_context(**{HOOK_OFF: True})
        lines = self.filtered(lambda line: line.amount < 0 and not line.is_reconciled)
        if not lines:
            return Storno
        texts = {line.id: line._sepa_texts() for line in lines}
        open_lines = lines.filtered(lambda line: _one_suspense_line(line))
        bank_debits = [line._sepa_bank_debit(texts[line.id]) for line in open_lines.sorted(
            lambda line: (line.date, line.id))]
        answers = self.env["sepa.return.matcher"].match_bank_debits(bank_debits, batches)
        vals_list, known, notes, unnamed = [], [], {}, []
        for line in open_lines:
            answer = answers.get(line.id)
            if answer is None:
                unnamed.append(line.id)
                continue
            if answer.reason:
                notes[line.move_id.id] = answer.note
                continue
            rows = answer.debits
            if all(row["storno_id"] for row in rows):
                known.append((line, Storno.browse(row["storno_id"] for row in rows)))
            elif not any(row["storno_id"] for row in rows):
                vals_list += line._sepa_storno_vals(rows, texts[line.id])
        if notes and batches is None:  # Match Bank Statements does not repeat them
            self.env["mail.message"]._sepa_log(self.env["account.move"].browse(notes), notes)
        stornos = Storno.register(vals_list) if vals_list else Storno
        plan, reconciled = self._sepa_reconcile_plan(stornos, known)
        if plan:
            self.env["account.move.line"].with_context(**{HOOK_OFF: True})._reconcile_plan(
                plan)
        # the rest may be the bank's one debit of several returns registered already
        naming = [line.id for line, old in known if not old & reconciled]
        rest = self.browse(unnamed + naming)
        if rest:
            reconciled |= rest._sepa_reconcile_storno_sums(
                {bank_debit.key: bank_debit for bank_debit in bank_debits}, batches,
                naming=set(naming))
        return reconciled

    def _sepa_reconcile_storno_sums(self, bank_debits, batches=None, naming=()):
        """Reconcile each of these bank debits with the stornos registered before (a
        return file) it pays together: banks often book the returns of a day as ONE
        debit. Candidates: the stornos of the line's journal still open on their
        outstanding account and linked to no statement line (of ``batches`` when given),
        read in one query. When the line names some of them (the return file's message
        id, a batch or payment block reference, an end-to-end id or the bank's
        transaction reference) only those count, else those booked on or before the
        line's date, and then only when its bank code may be a return's. A candidate set
        is all of them, those of one file, of one booking date, of one file and date; the
        line is reconciled with the one set whose open amount (charges included) is the
        line's to the cent. Never a guess: two sets, or named stornos of another amount,
        leave the line open with a note in its chatter (not again by Match Bank
        Statements, ``batches`` given). A line the bank says is no return of ours
        (another creditor, a direct debit collected from us) is left alone. Nothing is
        registered: no storno, charge, fee or point. Returns the stornos reconciled.
        ``bank_debits``: ``{line id: BankDebit}``; ``naming``: ids of the lines that name
        registered debits (never matched with stornos they do not name)."""
        Storno = self.env["sepa.storno"]
        candidates = defaultdict(list)  # journal: open stornos
        for row in self._sepa_open_storno_rows(batches):
            row["keys"] = {key.upper() for key in (
                row["return_msg_id"], row["batch_name"], row["pmt_inf_id"],
                row["end_to_end_id"], row["transaction_ref"]) if key}
            row["residual"] = -Decimal(str(row["residual"])).quantize(CENT)
            candidates[row["journal_id"]].append(row)
        if not candidates:
            return Storno
        creditor_ids = self.company_id._sepa_creditor_identifiers()
        pairs, notes, taken = [], {}, set()
        for line in self.sorted(lambda line: (line.date, line.id)):
            bank_debit = bank_debits[line.id]
            if judge_return(Decimal(0), creditor_ids=bank_debit.creditor_ids,
                            our_creditor_id=creditor_ids[line.company_id.id],
                            category=bank_debit.category, registered=True)[0]:
                continue
            found, note = line._sepa_storno_sum_of(bank_debit, [
                row for row in candidates[line.journal_id.id]
                if row["id"] not in taken and row["company_id"] == line.company_id.id],
                line.id in naming)
            if found:
                taken.update(row["id"] for row in found)
                pairs.append((line, Storno.browse(row["id"] for row in found)))
            elif note:
                notes[line.move_id.id] = [note]
        if notes and batches is None:
            self.env["mail.message"]._sepa_log(self.env["account.move"].browse(notes), notes)
        if not pairs:
            return Storno
        plan, reconciled = self._sepa_reconcile_plan(Storno, pairs)
        if plan:
            self.env["account.move.line"].with_context(**{HOOK_OFF: True})._reconcile_plan(
                plan)
        return reconciled

    def _sepa_storno_sum_of(self, bank_debit, rows, names_debits=False):
        """The open stornos (``rows``) this bank debit pays together, or none and why
        (a note's part): see ``_sepa_reconcile_storno_sums``. ``names_debits``: the
        line names registered debits (only the open stornos it names may be it)."""
        self.ensure_one()
        named = [row for row in rows if row["keys"] & bank_debit.names]
        if not named:
            if names_debits or bank_debit.category not in MAY_BE_RETURN:
                return None, None
            rows = [row for row in rows if row["date"] <= self.date]
        sets = [found for found in _candidate_sets(named or rows)
                if sum(row["residual"] for row in found) == bank_debit.amount]
        if len(sets) == 1:
            return sets[0], None
        if sets:
            return None, ("bank_debit_sum_ambiguous", {
                "debited": _money(bank_debit.amount, self),
                "sets": "; ".join(_debits_text(found) for found in sets)})
        if named:
            return None, ("bank_debit_sum_differs", {
                "debited": _money(bank_debit.amount, self),
                "amount": _money(sum(row["residual"] for row in named), self),
                "debits": _debits_text(named)})
        return None, None

    def _sepa_open_storno_rows(self, batches=None):
        """The stornos of these lines' journals (of ``batches`` when given) whose
        credit on a reconcilable account (the stornos outstanding) is still open and
        that no statement line paid yet, in ONE query: their references and open amount
        (``residual``, in the stornos' currency: negative)."""
        for model in ("sepa.storno", "account.move.line", "account.move"):
            self.env[model].flush_model()
        return self.env.execute_query_dict(SQL(
            """
            SELECT s.id, s.company_id, m.journal_id, COALESCE(s.booking_date, s.date) AS date,
                   s.import_ref, s.return_msg_id, s.transaction_ref, s.end_to_end_id,
                   b.name AS batch_name, bl.pmt_inf_id,
                   SUM(aml.amount_residual_currency) AS residual
              FROM account_move_line aml
              JOIN sepa_storno s ON s.id = aml.sepa_storno_id AND s.move_id = aml.move_id
              JOIN account_move m ON m.id = s.move_id
              JOIN account_account acc ON acc.id = aml.account_id AND acc.reconcile
              LEFT JOIN sepa_batch b ON b.id = s.batch_id
              LEFT JOIN sepa_batch_line bl ON bl.id = s.batch_line_id
             WHERE aml.sepa_storno_id IS NOT NULL AND NOT aml.reconciled AND aml.balance < 0
               AND m.state = 'posted' AND m.journal_id = ANY(%(journals)s)
               AND s.state = 'done' AND s.statement_line_id IS NULL
               AND (%(all)s OR s.batch_id = ANY(%(batches)s))
          GROUP BY s.id, m.journal_id, b.name, bl.pmt_inf_id
            HAVING COUNT(DISTINCT aml.account_id) = 1
          ORDER BY s.id
            """,
            journals=self.journal_id.ids, all=batches is None,
            batches=batches.ids if batches is not None else []))

    def _sepa_bank_debit(self, texts):
        """This bank debit as ``sepa.return.matcher`` judges it (``BankDebit``): the
        identifiers its ``texts`` may name, what the bank took (in euro, the debits'
        currency), the creditor identifiers and the bank transaction code it gives."""
        self.ensure_one()
        details = self.transaction_details
        code = bank_code_in(self.transaction_type, details)
        names = set()
        for text in texts:
            names |= identifier_candidates(text)
        euro = self.env.ref("base.EUR")  # the debits' currency
        return BankDebit(
            key=self.id, company_id=self.company_id.id, names=frozenset(names),
            amount=Decimal(str(euro.round(-self._sepa_amount_in(euro)))), date=self.date,
            creditor_ids=creditor_ids_in(texts, details),
            category=bank_debit_category(code, reversal_in(texts, details)),
            code="-".join(part for part in code if part) if code else None)

    def _sepa_storno_vals(self, rows, texts, debited=None):
        """``register`` values of the debits ``rows`` this bank debit returns; none when
        the bank debited (``debited``, default the line's amount) less than they amount
        to. The difference is the bank charge (on the first). Amounts in the debits'
        currency (euro; ``debited`` too)."""
        self.ensure_one()
        currency = self.env["sepa.batch.line"].browse(rows[0]["line_id"]).currency_id
        total = sum(float(row["amount"]) for row in rows)
        charge = currency.round(
            (-self._sepa_amount_in(currency) if debited is None else debited) - total)
        if currency.compare_amounts(charge, 0) < 0:
            return []
        if len(rows) == 1:
            reasons = [_reason_and_kind(texts, self.transaction_details)]
        else:  # several debits: each its own reason where its part of the details gives one
            found = _reasons_by_debit(self.transaction_details,
                                      [row["end_to_end_id"] for row in rows])
            reasons = [found.get(row["end_to_end_id"], ("NONE", "return")) for row in rows]
        return [{
            "batch_line_id": row["line_id"], "reason_code": code, "kind": kind,
            "date": self.date, "booking_date": self.date, "amount": float(row["amount"]),
            "charge_amount": charge if index == 0 else 0.0, "source": "statement",
            "statement_line_id": self.id,
        } for index, (row, (code, kind)) in enumerate(zip(rows, reasons, strict=True))]

    @api.model
    def _sepa_reconcile_plan(self, stornos, known):
        """Book each bank debit's suspense line on its stornos' outstanding account and
        pair it with their open outstanding lines (those of ``stornos``, registered now,
        and of ``known``: ``[(line, stornos registered before)]``, whose amounts must
        agree). Returns the plan and the stornos in it."""
        AccountMoveLine = self.env["account.move.line"]
        groups = [(storno.statement_line_id, storno) for storno in stornos]
        for line, old in known:
            groups.append((line, old))
        by_line = defaultdict(lambda: self.env["sepa.storno"])
        for line, group in groups:
            by_line[line] |= group
        plan, by_account, link = [], defaultdict(lambda: AccountMoveLine), []
        reconciled = self.env["sepa.storno"]
        for line, group in by_line.items():
            counterparts = group.move_id.line_ids.filtered(
                lambda aml, g=group: aml.sepa_storno_id in g and aml.balance < 0
                and not aml.reconciled and aml.account_id.reconcile)
            suspense = line._seek_for_lines()[1]
            currency = counterparts.currency_id  # the stornos' (euro)
            if len(counterparts.account_id) != 1 or len(currency) != 1 or \
                    currency.compare_amounts(sum(counterparts.mapped("amount_residual_currency")),
                                             line._sepa_amount_in(currency)) != 0:
                continue
            by_account[counterparts.account_id] |= suspense
            plan.append(suspense | counterparts)
            reconciled |= group
            link.append((group.filtered(lambda storno: not storno.statement_line_id), line))
        for account, suspenses in by_account.items():
            suspenses.with_context(skip_account_move_synchronization=True).write(
                {"account_id": account.id})
        for stornos, line in link:  # one write per bank debit (a sum: all its stornos)
            if stornos:
                stornos.statement_line_id = line
        return plan, reconciled

    def _sepa_texts(self):
        """The texts of this line a debit's identifiers and reason are looked for in:
        label, reference, notes (without their HTML) and the transaction details' text
        values."""
        self.ensure_one()
        notes = html.unescape(_TAG.sub(" ", self.narration or ""))
        return [text for text in (self.payment_ref, self.ref, notes,
                                  *json_strings(self.transaction_details)) if text]

    # ------------------------------------------------------------------
    # RECONCILIATION BY HAND
    # ------------------------------------------------------------------

    @api.model
    def _sepa_reroute_plan(self, plan):
        """Stornos reconciled by hand: a reconciliation plan (``_reconcile_plan``) that
        pairs the counterpart of a bank debit with a line of a direct debit (the batch
        credit, a transit line of its batch entry, its invoice's receivable) registers
        that debit's storno, its counterpart booked on the account the user chose, and
        pairs the bank debit with it instead. Whatever was picked: the invoice is open
        again, the statement line reconciled, the customer owes the invoice once.

        One indexed query when no bank debit is in the plan.
        """
        groups = list(_recordsets(plan))
        ids = [aml_id for group in groups for aml_id in group.ids]
        if not ids:
            return plan
        self.env["account.move.line"].flush_model(["move_id"])
        self.flush_model(["amount", "move_id"])
        st_ids = {row[0] for row in self.env.execute_query(SQL(
            """SELECT DISTINCT st.id FROM account_move_line aml
                 JOIN account_bank_statement_line st ON st.move_id = aml.move_id
                WHERE aml.id = ANY(%s) AND st.amount < 0""", ids))}
        if not st_ids:
            return plan
        rerouted = self._sepa_storno_by_hand(groups, self.browse(st_ids))
        if not rerouted:
            return plan
        return _replace(plan, rerouted)

    @api.model
    def _sepa_storno_by_hand(self, groups, st_lines):
        """Register the stornos of the groups of a plan that pair a bank debit of
        ``st_lines`` with a debit's line; returns ``{id(group): new group}``."""
        Storno = self.env["sepa.storno"].with_context(**{HOOK_OFF: True})
        vals_list, todo, counterparts = [], [], {}
        for group in groups:
            bank = group.filtered(lambda aml: aml.move_id.statement_line_id in st_lines
                                  and aml.move_id.statement_line_id._sepa_is_counterpart(aml))
            others = group - bank
            st_line = bank.move_id.statement_line_id
            if len(st_line) == 1 and others.sepa_storno_id:
                # paired with a registered storno's line: the storno's bank debit (linked
                # whoever reconciles: an accountant without direct debit rights may)
                others.sepa_storno_id.sudo().filtered(
                    lambda storno: storno.state == "done" and not storno.statement_line_id
                ).statement_line_id = st_line
                continue
            if len(st_line) != 1 or not others or st_line.id in counterparts \
                    or len(bank.account_id) != 1 or not bank.account_id.reconcile:
                continue
            rows = st_line._sepa_debits_picked(others)
            if not rows or any(row["storno_id"] for row in rows):
                continue
            vals = st_line._sepa_storno_vals(rows, st_line._sepa_texts(),
                                             debited=st_line._sepa_residual_in(bank, rows))
            if not vals:
                continue
            vals_list += vals
            counterparts[st_line.id] = bank.account_id.id
            todo.append((group, bank, st_line))
        if not vals_list:
            return {}
        stornos = Storno.with_context(**{COUNTERPARTS: counterparts}).register(vals_list)
        rerouted = {}
        for group, bank, st_line in todo:
            mine = stornos.filtered(lambda s, line=st_line: s.statement_line_id == line)
            rerouted[id(group)] = bank | mine.move_id.line_ids.filtered(
                lambda aml, m=mine, b=bank: aml.sepa_storno_id in m and aml.balance < 0
                and aml.account_id == b.account_id)
        return rerouted

    def _sepa_amount_in(self, currency):
        """This line's amount in ``currency`` (a debit's: euro): the line's own when its
        journal is in that currency, the bank's foreign amount when it is in it, else
        converted at the line's date."""
        self.ensure_one()
        if self.currency_id == currency:
            return self.amount
        if self.foreign_currency_id == currency:
            return self.amount_currency
        return self.currency_id._convert(self.amount, currency, self.company_id, self.date)

    def _sepa_residual_in(self, amls, rows):
        """What ``amls`` (this line's counterparts) leave open, in the currency of the
        debits ``rows``: their amount in currency when they are in it, else their
        company-currency residual converted at this line's date."""
        currency = self.env["res.currency"].browse(rows[0]["currency_id"])
        if amls.currency_id == currency:
            return sum(amls.mapped("amount_residual_currency"))
        return self.company_id.currency_id._convert(
            sum(amls.mapped("amount_residual")), currency, self.company_id, self.date)

    def _sepa_is_counterpart(self, aml):
        """Whether ``aml`` is a counterpart of this statement line (not its liquidity)."""
        return aml.account_id != self.journal_id.default_account_id \
            and aml.account_id.account_type not in ("asset_cash", "liability_credit_card")

    def _sepa_debits_picked(self, amls):
        """The debits (rows like ``sepa.return.matcher``'s) of sent or settled batches
        the user picked with ``amls``: a batch credit, an invoice's receivable, or a
        transit line of a batch entry (then the debit this line mentions, else the only
        one of that payment block with this line's amount).

        Looked up as superuser: a user without direct debit rights reconciling a bank
        debit with anything else must not be stopped; registering the storno (the
        caller) checks the user's rights."""
        self.ensure_one()
        BatchLine = self.env["sepa.batch.line"].sudo()
        lines = amls.sepa_batch_line_id.sudo()
        invoices = amls.move_id.filtered(lambda move: move.is_invoice())
        if invoices:
            lines |= BatchLine.search([
                ("invoice_id", "in", invoices.ids), ("state", "in", ("pending", "collected")),
                ("batch_id.state", "in", ("sent", "done"))])
        transit = amls.filtered(lambda aml: aml.move_id.sepa_batch_id
                                and not aml.sepa_batch_line_id and aml.balance > 0)
        for batch in transit.move_id.sepa_batch_id.sudo():
            named = self.env["sepa.return.matcher"].match_bank_debits(
                [self._sepa_bank_debit(self._sepa_texts())], batch, judged=False)
            if named:
                lines |= BatchLine.browse(row["line_id"] for row in named[self.id].debits)
                continue
            blocks = [block for block in set(batch.line_ids.mapped("pmt_inf_id"))
                      if any(mentions(aml.name, block) for aml in transit)]
            debits = defaultdict(lambda: BatchLine)  # end-to-end id: its lines
            for line in batch.line_ids.filtered(
                    lambda line, b=blocks: line.pmt_inf_id in b
                    and line.state in ("pending", "collected")):
                debits[line.end_to_end_id] |= line
            same = [debit for debit in debits.values() if not batch.currency_id.compare_amounts(
                sum(debit.mapped("amount")), -self._sepa_amount_in(batch.currency_id))]
            if len(same) == 1:
                lines |= same[0][:1]
        lines = lines.filtered(lambda line: line.batch_id.company_id == self.company_id)
        if not lines:
            return []
        rows = self.env["sepa.storno"]._debit_rows(lines.ids)
        unique = {row["first_line_id"]: row for row in rows.values()
                  if row["batch_state"] in ("sent", "done")}
        stornos = self.env["sepa.storno"].sudo().search(
            [("batch_line_id", "in", list(unique)), ("state", "=", "done")])
        done = {storno.batch_line_id.id: storno.id for storno in stornos}
        return [dict(row, line_id=first_id, storno_id=done.get(first_id, False))
                for first_id, row in sorted(unique.items())
                if row["registrable"] or first_id in done]


def _one_suspense_line(line):
    """Whether a bank debit is still open as created: its counterpart one suspense line."""
    _liquidity, suspense, other = line._seek_for_lines()
    return not other and len(suspense) == 1


def _reason_and_kind(texts, details):
    """The reason code and storno kind a bank debit's details give: the code under a
    ``Rsn`` key of the transaction details, else after a label in the texts ("Rsn/Cd:",
    "reason"), else a catalogued code written alone; none: unknown ("NONE", to
    complete). Kind: refund (MD06, ``/RTYP/RFND``), reversal (``/RTYP/RVSL``), else
    return; never reject: a reject is not debited, the bank credits less."""
    code = _json_reason(details)
    if not code:
        for text in texts:
            match = _LABELLED_REASON.search(text)
            if match:
                code = match.group(1).upper()
                break
    if not code:
        code = next((match.group(1) for text in texts for match in _CODE_WORD.finditer(text)
                     if match.group(1) in CATALOGUE), None)
    return_type = next((match.group(1) for text in texts for match in _RTYP.finditer(text)
                        if match.group(1) in RETURN_TYPES), None)
    kind = storno_kind(code, return_type)
    return code, "return" if kind == "reject" else kind


def _reasons_by_debit(details, e2e_ids):
    """``{end-to-end id: (code, kind)}`` of the debits of a bank debit naming several
    whose own part of the bank's JSON transaction details gives a reason: the largest
    object (or list) naming that debit and none of the others of ``e2e_ids`` (camt's
    ``TxDtls`` of one debit). A reason the details give for several debits at once is
    no debit's."""
    found = {}

    def walk(node):
        if not isinstance(node, dict | list):
            return
        texts = list(json_strings(node))
        named = [e2e for e2e in e2e_ids if any(mentions(text, e2e) for text in texts)]
        if len(named) == 1:
            code = _json_reason(node)
            if code and named[0] not in found:
                return_type = next((match.group(1) for text in texts
                                    for match in _RTYP.finditer(text)
                                    if match.group(1) in RETURN_TYPES), None)
                kind = storno_kind(code, return_type)
                found[named[0]] = (code, "return" if kind == "reject" else kind)
        elif named:  # several: their own parts are further down
            for item in node.values() if isinstance(node, dict) else node:
                walk(item)

    walk(details)
    return found


def _candidate_sets(rows):
    """The sets of open stornos (``rows``) a bank debit may pay together: all of them,
    those of one return file, of one booking date, of one file and date; each set
    once, in a stable order."""
    groups = {tuple(row["id"] for row in rows): rows}
    for key in (lambda row: row["import_ref"], lambda row: row["date"],
                lambda row: (row["import_ref"], row["date"])):
        by_key = defaultdict(list)
        for row in rows:
            if key(row) is not None and key(row) != (None, row["date"]):
                by_key[key(row)].append(row)
        for group in by_key.values():
            groups.setdefault(tuple(row["id"] for row in group), group)
    return [group for _ids, group in sorted(groups.items()) if group]


def _debits_text(rows):
    return ", ".join(f"{row['end_to_end_id']} ({row['batch_name']})" for row in rows)


def _money(amount, line):
    """A note's amount in euro (the debits' currency, see ``mail.message._sepa_log``)."""
    return {"amount": float(amount), "currency_id": line.env.ref("base.EUR").id}


def _json_reason(details):
    """The code under a reason key of a bank's JSON transaction details."""
    if isinstance(details, dict):
        for key, value in details.items():
            if key in _REASON_KEYS:
                code = value.get("Cd") or value.get("Prtry") if isinstance(value, dict) \
                    else value
                if isinstance(code, str) and 0 < len(code.strip()) <= 4:
                    return code.strip().upper()
            found = _json_reason(value)
            if found:
                return found
    elif isinstance(details, list):
        for value in details:
            found = _json_reason(value)
            if found:
                return found
    return None


def _recordsets(plan):
    for item in plan:
        if isinstance(item, list | tuple):
            yield from _recordsets(item)
        else:
            yield item


def _replace(plan, rerouted):
    return [_replace(item, rerouted) if isinstance(item, list | tuple)
            else rerouted.get(id(item), item) for item in plan]
