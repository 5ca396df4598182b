"""Which debit is a bank transaction about, and is it its return? One answer for the
return file import (``sepa.return.import``) and for bank statement lines
(``account.bank.statement.line``).

The debits every transaction may name are read in ONE query (``_read_debits``: by
end-to-end id, by batch and payment block for a pain.002 reject of a whole file or block,
by mandate and collection date when the end-to-end id is no debit of the company), found by
what each transaction names (``_DebitIndex``) and judged by one rule, the toolkit's
(``sepa.matching.judge_return``, on the camt reader's classification of bank transaction
codes): the bank's code must allow a return of our debit (a direct debit collected FROM our
account never is one), the creditor identifier must be ours when the bank gives one, and
the bank must have taken the debit's amount plus at most a plausible charge (the company's
*Maximum Bank Charge per Storno*, or the charges the bank states). End-to-end ids look
alike in every creditor's files, so naming one is not enough.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from odoo import api, fields, models
from odoo.tools import SQL

from ..sepa.matching import LESS_THAN_DEBIT, NOT_A_RETURN, OTHER_CREDITOR, judge_return

#: Batch states whose debits can fail.
RETURNABLE_STATES = ("sent", "done")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BankDebit:
    """A bank debit (a statement line) that may be the return of debits it names.

    ``names``: every identifier-like word of its texts (the end-to-end ids it may name);
    ``amount``: what the bank took (positive, in euro: the debits' currency) on ``date``;
    ``creditor_ids``: the creditor identifiers the bank gives; ``category``: the camt
    category of its bank transaction code, None without code; ``code``: that code as
    written, for the messages."""

    key: int
    company_id: int
    names: frozenset
    amount: Decimal
    date: object = None
    creditor_ids: tuple = ()
    category: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a bank debit is: the ``debits`` it names (rows of ``_read_debits``), whether
    it is their return (``reason`` None) or why not, the bank's ``charge`` (what it took
    more than the debits) and ``note``, the parts of the note saying why it is not a
    return (``mail.message._sepa_log``: in the reader's language)."""

    debits: list
    reason: str | None = None
    charge: Decimal | None = None
    note: list | None = None


class SepaReturnMatcher(models.AbstractModel):
    _name = "sepa.return.matcher"
    _description = "SEPA Direct Debit Return Matching"

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    @api.model
    def match_file(self, company, records):
        """Per R-transaction of a return file (``sepa.readers`` records of ``company``):
        ``[(debit row or None, note or None)]``, one pair per debit it covers; a note says
        why it is not registered as that debit's failure."""
        tx = [r for r in records if r.level == "tx"]
        keyed = [r for r in tx if r.mandate_id]
        debits = self._read_debits(
            company.ids,
            e2e=[r.end_to_end_id for r in tx if r.end_to_end_id],
            groups=[r.msg_id for r in records if r.level == "group" and r.msg_id],
            blocks=[r.pmt_inf_id for r in records if r.level == "pmtinf" and r.pmt_inf_id],
            keyed=keyed)
        index = _DebitIndex(self.env, debits, self._rules(company))
        return [index.match(record, company.id) for record in records]

    @api.model
    def match_bank_debits(self, bank_debits, batches=None, judged=True):
        """``{key: Answer}`` of the bank debits (``BankDebit``) that name debits of sent or
        settled batches of their company (of ``batches`` when given) still to register
        or registered already. In the order given: a debit is the return of the first
        bank debit that is its return. ``judged`` False: the debits named, unjudged (a
        bookkeeper's reconciliation by hand decides)."""
        if not bank_debits:
            return {}
        companies = self.env["res.company"].browse({bd.company_id for bd in bank_debits})
        names = set().union(*(bd.names for bd in bank_debits))
        if not names:
            return {}
        index = _DebitIndex(self.env, self._read_debits(companies.ids, e2e=sorted(names)),
                            self._rules(companies))
        batch_ids = set(batches.ids) if batches is not None else None
        answers, taken = {}, set()
        for bank_debit in bank_debits:
            debits = [debit for debit in index.named(bank_debit)
                      if (batch_ids is None or debit["batch_id"] in batch_ids)
                      and (debit["batch_id"], debit["end_to_end_id"]) not in taken]
            if not debits:
                continue
            if not judged:
                answers[bank_debit.key] = Answer(debits)
                continue
            answer = index.judge(bank_debit, debits)
            if answer.reason is None:
                taken.update((debit["batch_id"], debit["end_to_end_id"]) for debit in debits)
            answers[bank_debit.key] = answer
        return answers

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    @api.model
    def _rules(self, companies):
        """``{company id: (creditor identifiers, maximum bank charge, company)}``: the
        identifiers of all the company's creditors (archived ones too: their returns
        still come), the charge in the company's currency (see
        ``_DebitIndex.max_charge``)."""
        identifiers = companies._sepa_creditor_identifiers()
        return {company.id: (identifiers[company.id], company.sepa_storno_max_charge,
                             company)
                for company in companies}

    @api.model
    def _read_debits(self, company_ids, e2e=(), groups=(), blocks=(), keyed=()):
        """Every debit the transactions may name, in ONE read: by end-to-end id, by batch
        (group-level reject), by payment information block (PmtInf-level reject), and by
        mandate reference and collection date (``keyed``: records) for the transactions
        whose end-to-end id is no debit of the company. One row per debit (the lines
        sharing an end-to-end id), with its batch's state, whether it failed already and
        then its registered storno."""
        for model in ("sepa.batch.line", "sepa.batch", "sepa.mandate", "sepa.storno"):
            self.env[model].flush_model()
        return self.env.execute_query_dict(SQL(
            """
            WITH hits AS (
                SELECT l.id FROM sepa_batch_line l
                 WHERE l.company_id = ANY(%(companies)s) AND l.end_to_end_id = ANY(%(e2e)s)
                UNION
                SELECT l.id FROM sepa_batch b JOIN sepa_batch_line l ON l.batch_id = b.id
                 WHERE b.company_id = ANY(%(companies)s) AND b.name = ANY(%(groups)s)
                UNION
                SELECT l.id FROM sepa_batch b JOIN sepa_batch_line l ON l.batch_id = b.id
                 WHERE b.company_id = ANY(%(companies)s) AND b.state IN %(states)s
                   AND l.pmt_inf_id = ANY(%(blocks)s)
                UNION
                SELECT l.id
                  FROM unnest(%(refs)s::varchar[], %(days)s::date[], %(ref_e2e)s::varchar[])
                       AS k(ref, day, e2e)
                  JOIN sepa_mandate md ON md.name = k.ref
                   AND md.company_id = ANY(%(companies)s)
                  JOIN sepa_batch_line l ON l.mandate_id = md.id
                   AND (k.day IS NULL OR l.collection_date = k.day)
                 WHERE NOT EXISTS (SELECT 1 FROM sepa_batch_line x
                                    WHERE x.company_id = md.company_id
                                      AND x.end_to_end_id = k.e2e)
            ), debit AS (
            SELECT l.batch_id, b.name AS batch_name, b.state AS batch_state, l.company_id,
                   l.end_to_end_id, MIN(l.id) AS line_id, l.mandate_id,
                   md.name AS mandate_ref, l.partner_id, l.collection_date, l.pmt_inf_id,
                   SUM(l.amount) AS amount, BOOL_OR(l.state = 'failed') AS failed
              FROM sepa_batch_line l
              JOIN sepa_batch b ON b.id = l.batch_id
              JOIN sepa_mandate md ON md.id = l.mandate_id
             WHERE l.company_id = ANY(%(companies)s)
               AND l.end_to_end_id IN (SELECT h.end_to_end_id FROM sepa_batch_line h
                                        WHERE h.id IN (SELECT id FROM hits))
          GROUP BY l.batch_id, b.name, b.state, l.company_id, l.end_to_end_id, l.mandate_id,
                   md.name, l.partner_id, l.collection_date, l.pmt_inf_id
            )
            SELECT d.*, s.id AS storno_id
              FROM debit d
              LEFT JOIN sepa_storno s ON d.failed AND s.batch_line_id = d.line_id
                                     AND s.state = 'done'
          ORDER BY d.line_id
            """,
            companies=list(company_ids),
            states=RETURNABLE_STATES,
            e2e=list(e2e),
            groups=list(groups),
            blocks=list(blocks),
            refs=[r.mandate_id for r in keyed],
            days=[r.collection_date for r in keyed],
            ref_e2e=[r.end_to_end_id or "" for r in keyed],
        ))


class _DebitIndex:
    """The debits read for a set of transactions, found by what a transaction names and
    judged by the one rule (``judge_return``) with its company's ``rules``."""

    def __init__(self, env, debits, rules):
        self.env = env
        self.rules = rules
        self.euro = env.ref("base.EUR")
        self._max_charges = {}
        self.by_e2e = {}
        self.by_mandate = defaultdict(list)
        self.by_batch = defaultdict(list)
        self.by_block = defaultdict(list)
        for debit in debits:
            debit["amount"] = Decimal(str(debit["amount"])).quantize(CENT)
            self.by_e2e.setdefault((debit["company_id"], debit["end_to_end_id"]), debit)
            self.by_mandate[debit["mandate_ref"]].append(debit)
            self.by_batch[debit["batch_name"]].append(debit)
            if debit["pmt_inf_id"]:
                self.by_block[debit["pmt_inf_id"]].append(debit)

    def max_charge(self, company_id, date):
        """The company's maximum bank charge per storno in euro (the debits' currency):
        converted at ``date`` (default today) when the company's currency is another."""
        key = (company_id, date)
        if key not in self._max_charges:
            limit, company = self.rules[company_id][1:]
            if company.currency_id != self.euro:
                limit = company.currency_id._convert(
                    limit, self.euro, company, date or fields.Date.context_today(company))
            self._max_charges[key] = Decimal(str(limit)).quantize(CENT)
        return self._max_charges[key]

    # -- return files ---------------------------------------------------------------------

    def match(self, record, company_id):
        """``[(debit or None, note or None)]`` for one R-transaction of a return file of
        ``company_id``: one pair per debit it covers; a note says why it is not registered
        as a failed debit."""
        if record.level == "group":
            return self._whole(self.by_batch.get(record.msg_id, []), self.env._(
                "No batch %(batch)s of this company.", batch=record.msg_id))
        if record.level == "pmtinf":
            debits = [d for d in self.by_block.get(record.pmt_inf_id, [])
                      if not record.msg_id or d["batch_name"] == record.msg_id]
            return self._whole(debits, self.env._(
                "No payment block %(block)s in a sent or settled batch.",
                block=record.pmt_inf_id))
        if record.level != "tx":
            return [(None, self.env._("The bank gave no details of the debits in this entry "
                             "(%(ref)s): match it by hand.",
                             ref=record.acct_svcr_ref or record.ntry_ref or record.pmt_inf_id
                             or "-"))]
        debit = self.by_e2e.get((company_id, record.end_to_end_id)) \
            if record.end_to_end_id else None
        if debit is None:
            debit, note = self._by_mandate(record)
            if debit is None:
                return [(None, note)]
        note = _state_note(self.env, debit)
        if note is None and (record.creditor_id or record.amount is not None
                             and record.amount != debit["amount"]):
            note = self._record_note(record, debit)  # else the usual case: its return
        return [(debit, note)]

    def _record_note(self, record, debit):
        """Why an R-transaction of a file is not the return of ``debit`` (the one rule:
        creditor identifier, amount), or None."""
        amount = record.amount.quantize(CENT) if record.amount is not None else None
        creditor_id = self.rules[debit["company_id"]][0]
        max_charge = self.max_charge(debit["company_id"], record.booking_date
                                     or record.value_date)
        reason, excess = judge_return(
            debit["amount"], amount, charges=record.charges,
            creditor_ids=(record.creditor_id,) if record.creditor_id else (),
            our_creditor_id=creditor_id, max_charge=max_charge)
        if reason is None:
            return None
        values = {"e2e": debit["end_to_end_id"], "amount": amount, "debit": debit["amount"],
                  "charge": excess, "max": max_charge, "creditor": record.creditor_id,
                  "ours": ", ".join(creditor_id)}
        if reason == OTHER_CREDITOR:
            return self.env._(
                "Creditor identifier %(creditor)s is not ours (%(ours)s): another creditor's "
                "debit, not the return of debit %(e2e)s.", **values)
        if reason == LESS_THAN_DEBIT:
            return self.env._(
                "The bank returned %(amount)s, less than debit %(e2e)s of %(debit)s: match "
                "it by hand.", **values)
        return self.env._(
            "The bank returned %(amount)s for debit %(e2e)s of %(debit)s: the %(charge)s "
            "more is above the maximum bank charge per storno (%(max)s): match it by hand.",
            **values)

    def _whole(self, debits, missing):
        debits = [d for d in debits if d["batch_state"] in RETURNABLE_STATES]
        if not debits:
            return [(None, missing)]
        return [(debit, None) for debit in debits]

    def _by_mandate(self, record):
        """The one debit of the mandate with the transaction's amount and collection
        date (when the file gives it), or ``(None, why not)``."""
        unknown = self.env._("No debit with end-to-end id %(e2e)s.",
                             e2e=record.end_to_end_id or "-")
        if not record.mandate_id:
            return None, unknown
        amount = record.amount.quantize(CENT) if record.amount is not None else None
        found = [d for d in self.by_mandate.get(record.mandate_id, [])
                 if d["batch_state"] in RETURNABLE_STATES
                 and (amount is None or d["amount"] == amount)
                 and (record.collection_date is None
                      or d["collection_date"] == record.collection_date)]
        if len(found) == 1:
            return found[0], None
        values = {"e2e": record.end_to_end_id or "-", "mandate": record.mandate_id,
                  "amount": amount if amount is not None else "-",
                  "date": record.collection_date or "-"}
        if found:
            return None, self.env._("No debit with end-to-end id %(e2e)s; %(count)s debits of "
                           "mandate %(mandate)s have amount %(amount)s and collection date "
                           "%(date)s: match it by hand.", count=len(found), **values)
        return None, self.env._("No debit with end-to-end id %(e2e)s, nor of mandate %(mandate)s "
                       "with amount %(amount)s and collection date %(date)s.", **values)

    # -- bank statement lines -------------------------------------------------------------

    def named(self, bank_debit):
        """The debits of sent or settled batches of the bank debit's company whose
        end-to-end id it names, still to register or registered already."""
        found = {}
        for name in bank_debit.names:
            debit = self.by_e2e.get((bank_debit.company_id, name))
            if debit is not None and debit["batch_state"] in RETURNABLE_STATES \
                    and (not debit["failed"] or debit["storno_id"]):
                found[debit["line_id"]] = debit
        return sorted(found.values(), key=lambda debit: (debit["batch_id"], debit["line_id"]))

    def judge(self, bank_debit, debits):
        """The ``Answer`` for a bank debit naming ``debits``: their return or not, why."""
        creditor_id, limit, company = self.rules[bank_debit.company_id]
        max_charge = self.max_charge(bank_debit.company_id, bank_debit.date)
        euro = self.euro
        total = sum(debit["amount"] for debit in debits)
        # several returns in one bank debit: each may carry a charge
        reason, excess = judge_return(
            total, bank_debit.amount, creditor_ids=bank_debit.creditor_ids,
            our_creditor_id=creditor_id, category=bank_debit.category,
            max_charge=max_charge * len(debits),
            registered=all(debit["storno_id"] for debit in debits))
        if reason is None:
            return Answer(debits, charge=excess)

        def money(value, currency=euro):
            return {"amount": float(value), "currency_id": currency.id}

        key = {NOT_A_RETURN: "bank_debit_code", OTHER_CREDITOR: "bank_debit_creditor",
               LESS_THAN_DEBIT: "bank_debit_less"}.get(reason, "bank_debit_charge")
        note = [(key, {
            "debits": ", ".join(f"{d['end_to_end_id']} ({d['batch_name']})" for d in debits),
            "debited": money(bank_debit.amount), "amount": money(total),
            "charge": money(excess or 0), "max": money(limit, company.currency_id),
            "code": bank_debit.code or "-",
            "creditor": ", ".join(bank_debit.creditor_ids), "ours": ", ".join(creditor_id),
        })]
        return Answer(debits, reason=reason, charge=excess, note=note)


def _state_note(env, debit):
    """Why a matched debit cannot fail, or None."""
    if debit["batch_state"] not in RETURNABLE_STATES:
        return env._("Debit %(e2e)s is in batch %(batch)s, which was never sent or was "
                 "cancelled.", e2e=debit["end_to_end_id"], batch=debit["batch_name"])
    return None
