"""Control after reconciliation: release the invoices of failed debits (retry, hold or
take them out of direct debit) and choose the sequence type after a failed first debit.

Used after the bank statement with the batch's credit and its stornos has been
reconciled. One line per failed debit not released yet (a merged debit of several
invoices is one storno, so one line: its invoices are released together). The lines are
made from one SQL read in one INSERT; ``action_process`` applies them in one transaction
with one write per distinct value and one summary message in each batch's chatter.

Taking an invoice out of direct debit (the customer pays it another way): its storno is
released as *Out of Direct Debit* and the invoice is put on direct debit hold
(``sepa_hold``, with the reason), so no proposal takes it until someone releases the
hold on the invoice.

A reason that cannot succeed again on the same account (``needs_new_account`` of the
reason: account closed, wrong or blocked, no mandate, debtor deceased, refused) is
pre-filled Hold with a note; retrying it needs *Retry Anyway*, which is refused while the
mandate still has the account that failed. A refund the customer asked for is retried
with a warning on its line. A hold needs a note.

Failed debits the company's re-presentation policy released (``released_by_policy``:
retry with a planned re-presentation date, or held after the maximum) are listed too,
pre-filled as the policy decided, with the planned date, until the control is processed
or their invoices are collected again: the bookkeeper may still decide otherwise.
"""

from collections import defaultdict

from psycopg2.errors import LockNotAvailable

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..bulk import insert_records
from ..models.sepa_storno import KINDS

RELEASES = [
    ("retry", "Retry"),
    ("hold", "Hold"),
    ("out", "Out of Direct Debit"),
]
SEQUENCES = [("first", "First"), ("recurring", "Recurring")]
#: Lines named in an error message at most.
SHOWN = 20


class SepaControl(models.TransientModel):
    _name = "sepa.control"
    _description = "SEPA Direct Debit Control after Reconciliation"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        help="Creditor company whose failed debits are controlled.")
    batch_ids = fields.Many2many(
        "sepa.batch", string="Batches", check_company=True, readonly=True,
        help="The batches whose failed debits are controlled (empty: every batch).")
    line_ids = fields.One2many(
        "sepa.control.line", "control_id", string="Failed Debits",
        help="Every failed debit whose invoices are not released yet.")
    line_count = fields.Integer(
        string="Failed Debits to Release", compute="_compute_counts",
        help="Failed debits to release.")
    retry_count = fields.Integer(
        string="To Retry", compute="_compute_counts",
        help="Failed debits collected again by the next proposal.")
    hold_count = fields.Integer(
        string="To Hold", compute="_compute_counts",
        help="Failed debits kept out of the proposals until released.")
    out_count = fields.Integer(
        string="Out of Direct Debit", compute="_compute_counts",
        help="Failed debits whose invoices are paid another way.")
    processed = fields.Boolean(
        readonly=True, help="The choices were applied: the control is done.")
    has_first_debit = fields.Boolean(
        string="Has a Failed First Debit", compute="_compute_line_kinds",
        help="A line is a failed first debit: the list shows the sequence type columns.")
    has_new_account_reason = fields.Boolean(
        string="Has a Reason Needing a New Account", compute="_compute_line_kinds",
        help="A line's reason needs a new account or mandate: the list shows Retry Anyway.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("line_ids.release")
    def _compute_counts(self):
        saved = all(isinstance(id_, int) for id_ in self._ids)
        counts = defaultdict(int)
        if saved:  # one grouped query for thousands of lines
            for control, release, count in self.env["sepa.control.line"]._read_group(
                    [("control_id", "in", self.ids)], ["control_id", "release"], ["__count"]):
                counts[control.id, release] = count
        for control in self:
            if not saved:  # a form being edited: in memory, with the edits
                for release in control.line_ids.mapped("release"):
                    counts[control.id, release] += 1
            control.retry_count = counts[control.id, "retry"]
            control.hold_count = counts[control.id, "hold"]
            control.out_count = counts[control.id, "out"]
            control.line_count = control.retry_count + control.hold_count + control.out_count

    @api.depends("line_ids.first_debit", "line_ids.needs_new_account")
    def _compute_line_kinds(self):
        """Which optional columns the lines need (a dialog of many lines is narrow)."""
        saved = all(isinstance(id_, int) for id_ in self._ids)
        kinds = {}
        if saved:  # one grouped query for thousands of lines
            kinds = {control.id: (first, new_account)
                     for control, first, new_account in self.env["sepa.control.line"]._read_group(
                         [("control_id", "in", self.ids)], ["control_id"],
                         ["first_debit:bool_or", "needs_new_account:bool_or"])}
        for control in self:
            if saved:
                first, new_account = kinds.get(control.id, (False, False))
            else:  # a form being edited: in memory
                first = any(control.line_ids.mapped("first_debit"))
                new_account = any(control.line_ids.mapped("needs_new_account"))
            control.has_first_debit = first
            control.has_new_account_reason = new_account

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    @api.model
    def _action_open(self, batches=None):
        """The control of the failed debits of ``batches`` (none: of every batch of the
        company) not released yet, in a dialog."""
        company = batches.company_id[:1] if batches else self.env.company
        control = self.create({
            "company_id": company.id,
            "batch_ids": [fields.Command.set(batches.ids if batches else [])],
        })
        control._create_lines()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": control.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "name": _("Control after Reconciliation"),
            "context": {"dialog_size": "extra-large"},
        }

    def action_process(self):
        """Apply every line in one transaction: the stornos released (one write per
        distinct choice), invoices taken out of direct debit put on hold, the mandates'
        sequence types set, one summary in each batch's chatter. Nothing is changed when
        a line cannot be applied."""
        self.ensure_one()
        if self.processed:
            raise UserError(_("This control was processed already: open it again to see "
                              "what is left to release."))
        self._check_active_company(processing=True)  # the reads are plain SQL
        with self.env.cr.savepoint():
            self._lock_stornos()
            rows = self._process_rows()
            if not rows:
                raise UserError(_("There is no failed debit to release."))
            self._check_rows(rows)
            self._release_stornos(rows)
            self._take_out_invoices(rows)
            mandates = self._set_sequence_types(rows)
            self._post_summaries(rows, mandates)
            self.processed = True
        return self._done_notification(rows, mandates)

    # ------------------------------------------------------------------
    # BUSINESS: lines
    # ------------------------------------------------------------------

    def _line_rows(self):
        """One read of the failed debits to control: registered stornos not released
        yet, with what the line needs of their debit, mandate and reason."""
        self.env.flush_all()
        batch_filter = SQL("s.batch_id = ANY(%s)", self.batch_ids.ids) if self.batch_ids \
            else SQL("TRUE")
        return self.env.execute_query_dict(SQL(
            """
            SELECT s.id AS storno_id, s.batch_id, s.partner_id, s.mandate_id, s.amount,
                   s.currency_id, s.kind, s.reason_id, s.after_settlement,
                   md.state AS mandate_state,
                   (l.sequence_type = 'FRST' AND md.mandate_type = 'recurring'
                    AND l.id > COALESCE(md.sequence_history_start, 0)) AS first_debit,
                   COALESCE(r.keeps_first, TRUE) AS keeps_first,
                   COALESCE(r.needs_new_account, FALSE) AS needs_new_account,
                   s.reason_code, %(account_changed)s AS account_changed,
                   s.released_by_policy, s.release_state, s.hold_note AS policy_note,
                   s.represent_date
              FROM sepa_storno s
              JOIN sepa_batch_line l ON l.id = s.batch_line_id
         LEFT JOIN sepa_mandate md ON md.id = s.mandate_id
         LEFT JOIN sepa_return_reason r ON r.id = s.reason_id
         LEFT JOIN res_partner p ON p.id = s.partner_id
             WHERE s.company_id = %(company)s
               AND s.state = 'done'
               AND (s.release_state = 'none' OR %(by_policy)s)
               AND %(batches)s
          ORDER BY s.batch_id, p.name, s.id
            """, company=self.company_id.id, batches=batch_filter,
            account_changed=self.env["sepa.storno"]._account_changed_sql("s"),
            by_policy=self._by_policy_sql("s")))

    @api.model
    def _by_policy_sql(self, alias):
        """SQL condition: the storno of table alias ``alias`` was released or held by the
        re-presentation policy, not confirmed by a control yet, and its invoices are not
        in a later debit (collected again: nothing left to decide)."""
        s = SQL.identifier(alias)
        return SQL(
            """(%(s)s.released_by_policy AND NOT EXISTS (
                   SELECT FROM sepa_storno_invoice_rel rel
                     JOIN sepa_batch_line later ON later.invoice_id = rel.invoice_id
                    WHERE rel.storno_id = %(s)s.id AND later.id > %(s)s.batch_line_id
                      AND (later.is_open OR later.state != 'pending')))""", s=s)

    def _create_lines(self):
        """The lines, pre-filled, in one INSERT."""
        self.ensure_one()
        self._check_active_company()  # the read is plain SQL
        return insert_records(self.env["sepa.control.line"], [
            self._prepare_line_vals(row) for row in self._line_rows()])

    def _check_active_company(self, processing=False):
        """Refuse a control of a company the user does not work in now: one of their
        companies that is not active is named, with what to do; another is not."""
        for control in self:
            if control.company_id in self.env.companies:
                continue
            if control.company_id not in self.env.user.company_ids:
                raise AccessError(_("You can only control the failed debits of your "
                                    "active companies."))
            company = control.company_id.sudo().name
            if processing:
                raise UserError(_(
                    "Nothing was processed: this control is of %(company)s, which is not "
                    "active now. Select %(company)s in the company switcher and process "
                    "again.", company=company))
            raise UserError(_(
                "The failed debits of %(company)s are controlled with this company "
                "active: select %(company)s in the company switcher.", company=company))

    def _prepare_line_vals(self, row):
        active = row["mandate_state"] == "active"
        retry = active and not row["needs_new_account"]
        if row["needs_new_account"]:
            note = self._needs_new_account_note(row["reason_code"])
        else:
            note = False if active else self._inactive_note(row["mandate_state"])
        if row["released_by_policy"] and row["release_state"] in ("retry", "hold"):
            # as the re-presentation policy decided
            retry = row["release_state"] == "retry"
            note = False if retry else row["policy_note"]
        return {
            "represent_date": (retry and row["represent_date"]) or False,
            "control_id": self.id,
            "storno_id": row["storno_id"],
            "batch_id": row["batch_id"],
            "partner_id": row["partner_id"],
            "mandate_id": row["mandate_id"],
            "amount": row["amount"],
            "currency_id": row["currency_id"],
            "kind": row["kind"],
            "reason_id": row["reason_id"],
            "keeps_first": row["keeps_first"],
            "after_settlement": row["after_settlement"],
            "needs_new_account": row["needs_new_account"],
            "account_changed": row["account_changed"],
            "release": "retry" if retry else "hold",
            "hold_note": note,
            "first_debit": bool(row["first_debit"]),
            "sequence_type": row["first_debit"] and _default_sequence_type(
                row["after_settlement"], row["keeps_first"]),
        }

    def _needs_new_account_note(self, code):
        return self.env._("Needs a new account or mandate (%(code)s)", code=code)

    def _inactive_note(self, state):
        if not state:
            return self.env._("No mandate: ask the customer for a mandate or another payment")
        labels = dict(self.env["sepa.mandate"]._fields["state"]._description_selection(
            self.env))
        return self.env._("Mandate %(state)s: ask the customer for a new mandate or "
                          "another payment", state=labels.get(state, state).lower())

    # ------------------------------------------------------------------
    # BUSINESS: process
    # ------------------------------------------------------------------

    def _process_rows(self):
        """The lines with the CURRENT state of their storno and mandate: one read. A
        failed first debit of before the mandate's current debit history (it was
        reactivated since: its next debit is a first one again) has no choice any more
        (``first_debit`` false)."""
        self.env.flush_all()
        return self.env.execute_query_dict(SQL(
            """
            SELECT c.id, c.storno_id, c.release, c.hold_note,
                   c.first_debit AND s.batch_line_id > COALESCE(md.sequence_history_start, 0)
                       AS first_debit,
                   c.retry_anyway, COALESCE(reason.needs_new_account, FALSE)
                       AS needs_new_account,
                   %(account_changed)s AS account_changed, s.reason_code,
                   c.sequence_type, s.batch_id, s.mandate_id, s.state AS storno_state,
                   s.release_state, s.released_by_policy, s.represent_date,
                   md.state AS mandate_state, md.name AS mandate_name,
                   s.name AS storno_name,
                   (SELECT STRING_AGG(m.name, ', ' ORDER BY m.id)
                      FROM sepa_storno_invoice_rel r JOIN account_move m ON m.id = r.invoice_id
                     WHERE r.storno_id = s.id) AS invoice_names,
                   (SELECT ARRAY_AGG(r.invoice_id ORDER BY r.invoice_id)
                      FROM sepa_storno_invoice_rel r WHERE r.storno_id = s.id) AS invoice_ids
              FROM sepa_control_line c
              JOIN sepa_storno s ON s.id = c.storno_id
         LEFT JOIN sepa_mandate md ON md.id = s.mandate_id
         LEFT JOIN sepa_return_reason reason ON reason.id = s.reason_id
             WHERE c.control_id = %(control)s
          ORDER BY c.id
            """, control=self.id,
            account_changed=self.env["sepa.storno"]._account_changed_sql("s")))

    def _check_rows(self, rows):
        """Refuse the whole control (nothing changed) when a line cannot be applied,
        naming the invoices and mandates."""
        problems = []
        by_mandate = defaultdict(set)

        def debit(row):
            return _("%(invoices)s (mandate %(mandate)s)", invoices=row["invoice_names"],
                     mandate=row["mandate_name"] or _("none"))

        for row in rows:
            if row["storno_state"] != "done" or (
                    row["release_state"] != "none" and not row["released_by_policy"]):
                problems.append(_("%(debit)s: released or cancelled by another user "
                                  "meanwhile", debit=debit(row)))
            elif row["release"] == "retry" and row["mandate_state"] != "active":
                problems.append(_("%(debit)s: cannot be retried, the mandate is not "
                                  "active; hold it or take it out of direct debit",
                                  debit=debit(row)))
            elif row["release"] == "retry" and row["needs_new_account"] \
                    and not (row["retry_anyway"] and row["account_changed"]):
                problems.append(self.env["sepa.control.line"]._needs_new_account_problem(
                    debit(row), row["reason_code"], row["account_changed"]))
            elif row["release"] == "hold" and not (row["hold_note"] or "").strip():
                problems.append(_("%(debit)s: give a note why it is held",
                                  debit=debit(row)))
            if row["first_debit"] and row["mandate_id"]:
                by_mandate[row["mandate_id"]].add(row["sequence_type"])
        for row in rows:
            if len(by_mandate.get(row["mandate_id"], ())) > 1:
                problems.append(_("Mandate %(mandate)s: choose one sequence type for all its "
                                  "failed first debits", mandate=row["mandate_name"]))
                by_mandate.pop(row["mandate_id"])
        if problems:
            raise UserError(_("Nothing was processed:\n%(list)s",
                              list="\n".join(problems[:SHOWN])))

    def _lock_stornos(self):
        """The failed debits of the lines are locked until the end of the transaction,
        before their state is read and checked: another user processing them at this
        moment gets a clear error instead of waiting, and then finds them released."""
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.execute_query(SQL(
                    """SELECT s.id FROM sepa_storno s
                         JOIN sepa_control_line c ON c.storno_id = s.id
                        WHERE c.control_id = %s
                          FOR UPDATE OF s NOWAIT""", self.id))
        except LockNotAvailable:
            raise UserError(_("Another user is releasing these failed debits at this "
                              "moment; nothing was processed. Try again.")) from None

    def _release_stornos(self, rows):
        """One write per distinct (release, note): a few writes for thousands of lines.
        No tracking message per storno: the batch's chatter gets the summary."""
        groups = defaultdict(list)
        for row in rows:
            note = row["hold_note"] if row["release"] != "retry" else False
            # a planned re-presentation stays while retried; any other choice drops it
            planned = row["release"] == "retry" and row["represent_date"] or False
            groups[(row["release"], note or False, planned)].append(row["storno_id"])
        Storno = self.env["sepa.storno"].with_context(tracking_disable=True)
        for (release, note, planned), ids in groups.items():
            Storno.browse(ids).write({"release_state": release, "hold_note": note,
                                      "represent_date": planned,
                                      "released_by_policy": False})

    def _take_out_invoices(self, rows):
        """The invoices taken out of direct debit are on hold: paid another way."""
        ids = [invoice_id for row in rows if row["release"] == "out"
               for invoice_id in row["invoice_ids"] or []]
        if ids:
            self.env["account.move"].browse(ids).with_context(tracking_disable=True).write({
                "sepa_hold": True,
                "sepa_hold_reason": self.env._(
                    "Taken out of direct debit after its debit failed: paid another way"),
            })

    def _set_sequence_types(self, rows):
        """The sequence type of the next debit of the mandates whose first debit failed:
        one write per value. Each storno keeps the choice and the mandate's override
        before it, which cancelling the storno restores (one write per pair). Returns
        ``{value: mandates}``."""
        groups, choices = defaultdict(set), []
        for row in rows:
            if row["first_debit"] and row["mandate_id"] and row["sequence_type"]:
                groups[row["sequence_type"]].add(row["mandate_id"])
                choices.append((row["storno_id"], row["mandate_id"], row["sequence_type"]))
        Mandate = self.env["sepa.mandate"].with_context(tracking_disable=True)
        overrides = {mandate.id: mandate.sequence_type_override or False
                     for mandate in Mandate.browse(sorted({
                         mandate_id for _storno, mandate_id, _value in choices}))}
        mandates = {}
        for value, ids in groups.items():
            mandates[value] = Mandate.browse(sorted(ids))
            mandates[value].write({"sequence_type_override": value})
        kept = defaultdict(list)
        for storno_id, mandate_id, value in choices:
            kept[value, overrides[mandate_id]].append(storno_id)
        Storno = self.env["sepa.storno"].with_context(tracking_disable=True)
        for (value, override), ids in kept.items():
            Storno.browse(ids).write(
                {"sequence_type_chosen": value, "sequence_type_before": override})
        return mandates

    def _post_summaries(self, rows, mandates):
        """One message in the chatter of each batch: what was released and how."""
        by_batch = defaultdict(lambda: defaultdict(int))
        mandate_values = {mandate_id: value for value, records in mandates.items()
                          for mandate_id in records.ids}
        seen = set()
        for row in rows:
            counts = by_batch[row["batch_id"]]
            counts[row["release"]] += 1
            value = mandate_values.get(row["mandate_id"]) if row["first_debit"] else None
            if value and (row["batch_id"], row["mandate_id"]) not in seen:
                seen.add((row["batch_id"], row["mandate_id"]))
                counts[value] += 1
        # one note per batch, in one go, shown in the reader's language
        self.env["mail.message"]._sepa_log(
            self.env["sepa.batch"].browse(sorted(by_batch)),
            {batch_id: self._summary_parts(counts) for batch_id, counts in by_batch.items()})

    def _summary_parts(self, counts):
        """The summary's message parts (``mail.message._sepa_log``)."""
        parts = [("control_summary", {
            "total": counts["retry"] + counts["hold"] + counts["out"],
            "retry": counts["retry"], "hold": counts["hold"], "out": counts["out"]})]
        if counts["first"] or counts["recurring"]:
            parts.append(("control_sequence_types", {
                "first": counts["first"], "recurring": counts["recurring"]}))
        return parts

    def _summary(self, counts):
        env = self.env
        text = env._(
            "Control after reconciliation: %(total)s failed debit(s) released: "
            "%(retry)s to retry, %(hold)s held, %(out)s taken out of direct debit.",
            total=counts["retry"] + counts["hold"] + counts["out"], retry=counts["retry"],
            hold=counts["hold"], out=counts["out"])
        if counts["first"] or counts["recurring"]:
            text += " " + env._(
                "Sequence type of the next debit set after a failed first debit: "
                "First on %(first)s mandate(s), Recurring on %(recurring)s.",
                first=counts["first"], recurring=counts["recurring"])
        return text

    def _done_notification(self, rows, mandates):
        counts = defaultdict(int)
        for row in rows:
            counts[row["release"]] += 1
        for value, records in mandates.items():
            counts[value] = len(records)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Failed debits released"),
                "message": self._summary(counts),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class SepaControlLine(models.TransientModel):
    _name = "sepa.control.line"
    _description = "SEPA Direct Debit Control after Reconciliation: Failed Debit"
    _order = "id"

    control_id = fields.Many2one(
        "sepa.control", required=True, ondelete="cascade", index=True,
        help="The control this line belongs to.")
    storno_id = fields.Many2one(
        "sepa.storno", string="Failed Debit", required=True, readonly=True,
        ondelete="cascade", help="The storno (failed debit) released by this line.")
    invoice_ids = fields.Many2many(
        related="storno_id.invoice_ids", string="Invoices",
        help="The invoices of the failed debit: merged invoices are released together.")
    batch_id = fields.Many2one(
        "sepa.batch", string="Batch", readonly=True, help="Batch of the failed debit.")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, help="Debtor of the failed debit.")
    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", readonly=True, help="Mandate of the failed debit.")
    mandate_state = fields.Selection(
        related="mandate_id.state", string="Mandate Status",
        help="Only a failed debit of an active mandate can be retried.")
    storno_score = fields.Integer(
        related="mandate_id.storno_score", string="Storno Score",
        help="The mandate's storno score now.")
    amount = fields.Monetary(readonly=True, help="Amount of the failed debit.")
    currency_id = fields.Many2one("res.currency", readonly=True, help="Euro.")
    reason_id = fields.Many2one(
        "sepa.return.reason", string="Reason", readonly=True,
        help="Reason code the bank gave and what it means.")
    reason_code = fields.Char(related="reason_id.code", string="Reason Code",
                              help="ISO 20022 reason code.")
    reason_name = fields.Char(related="reason_id.name", string="Reason Description",
                              help="What the reason code means.")
    kind = fields.Selection(
        KINDS, readonly=True,
        help="Reject: refused before settlement. Return, refund, reversal: booked back "
        "after settlement.")
    keeps_first = fields.Boolean(
        readonly=True, help="The reason keeps a rejected first debit first.")
    after_settlement = fields.Boolean(
        readonly=True, help="The debit failed after the bank had settled it.")
    release = fields.Selection(
        RELEASES, string="Status after Release", required=True, default="retry",
        help="Retry: collectable in the next proposal. Hold: kept out of the proposals "
        "until released, with a note. Out of Direct Debit: the invoices are paid another "
        "way (put on direct debit hold).")
    hold_note = fields.Char(
        string="Note", help="Why the invoices are held or taken out of direct debit "
        "(required for a hold).")
    represent_date = fields.Date(
        string="Planned Re-presentation", readonly=True,
        help="The date the company's re-presentation policy collects the invoices again "
        "(first collection date on or after the payday), kept when you process the line "
        "as Retry. Empty for a failed debit retried by you: the next proposal takes it.")
    needs_new_account = fields.Boolean(
        string="Needs a New Account or Mandate", readonly=True,
        help="The reason cannot succeed again on the same account (account closed, "
        "wrong or blocked, no mandate, debtor deceased, refused by the debtor): "
        "pre-filled Hold; a retry needs Retry Anyway once the account changed.")
    account_changed = fields.Boolean(
        string="Account Changed", readonly=True,
        help="When the control was opened, the mandate no longer had the account that "
        "failed (a new IBAN), or the customer had another active mandate.")
    retry_anyway = fields.Boolean(
        string="Retry Anyway",
        help="The customer gave a new account or mandate: retry although the reason needs "
        "one. Refused while the mandate still has the account that failed.")
    retry_warning = fields.Char(
        string="Warning", compute="_compute_retry_warning",
        help="What retrying this failed debit means: a reason that needs a new account or "
        "mandate, or a refund the customer asked for.")
    first_debit = fields.Boolean(
        string="First Debit Failed", readonly=True,
        help="The failed debit was the first debit (FRST) of a recurring mandate: choose "
        "the sequence type of its next debit.")
    sequence_type = fields.Selection(
        SEQUENCES, string="Sequence Type after Release",
        help="Sequence type of the mandate's next debit after a failed first debit. "
        "Pre-filled from what happened: rejected before settlement → First; returned, "
        "refunded or reversed after settlement → Recurring.")
    sequence_note = fields.Char(
        string="Why", compute="_compute_sequence_note",
        help="What the failed first debit means for the bank, in one sentence.")

    # ------------------------------------------------------------------
    # COMPUTE / CONSTRAINT
    # ------------------------------------------------------------------

    @api.depends("needs_new_account", "account_changed", "kind", "reason_code")
    def _compute_retry_warning(self):
        env = self.env
        for line in self:
            if line.needs_new_account and not line.account_changed:
                line.retry_warning = env._(
                    "Cannot succeed again on the same account: hold it until the customer "
                    "gives a new account or mandate")
            elif line.needs_new_account:
                line.retry_warning = env._(
                    "The account changed: tick Retry Anyway to collect it again")
            elif line.kind == "refund" or line.reason_code == "MD06":
                line.retry_warning = env._(
                    "The customer asked for a refund: ask before collecting it again")
            else:
                line.retry_warning = False

    @api.depends("first_debit", "after_settlement", "keeps_first", "sequence_type")
    def _compute_sequence_note(self):
        for line in self:
            line.sequence_note = line.first_debit and line._sequence_note()

    def _sequence_note(self):
        env = self.env
        happened = _default_sequence_type(self.after_settlement, self.keeps_first)
        if self.after_settlement:
            text = env._("Failed after settlement: for the bank the first debit took "
                         "place, so the next debit is recurring (RCUR).")
        elif happened == "first":
            text = env._("Rejected before settlement: the bank never saw a first debit, "
                         "so the next debit is a first debit again (FRST).")
        else:
            text = env._("Rejected as a duplicate: the bank has seen a first debit "
                         "already, so the next debit is recurring (RCUR).")
        if self.sequence_type and self.sequence_type != happened:
            text += " " + env._("You chose otherwise.")
        return text

    @api.constrains("control_id", "storno_id")
    def _check_storno_company(self):
        """A line releases a failed debit of its control's company, one of the user's
        active companies (over RPC any storno id can be written): one query."""
        self.control_id._check_active_company()
        self.flush_recordset(["control_id", "storno_id"])
        other = self.env.execute_query(SQL(
            """SELECT c.id FROM sepa_control_line c
                 JOIN sepa_control w ON w.id = c.control_id
                 JOIN sepa_storno s ON s.id = c.storno_id
                WHERE c.id = ANY(%s) AND s.company_id != w.company_id LIMIT 1""", self.ids))
        if other:
            raise AccessError(_("You can only control the failed debits of your active "
                                "companies."))

    @api.model
    def _needs_new_account_problem(self, debit, code, account_changed):
        """Why the retry of ``debit`` (its invoices and mandate, named), whose reason
        ``code`` needs a new account or mandate, is refused."""
        env = self.env
        if not account_changed:
            return env._(
                "%(debit)s: %(code)s cannot succeed again on the same account: hold it "
                "until the customer gives a new account or mandate (enter the new IBAN on "
                "the mandate, then tick Retry Anyway)", debit=debit, code=code)
        return env._("%(debit)s: %(code)s needs a new account or mandate: tick Retry "
                     "Anyway to retry it on the new account", debit=debit, code=code)

    @api.constrains("release", "retry_anyway")
    def _check_retry_anyway(self):
        """A reason that needs a new account or mandate is retried with Retry Anyway,
        once the mandate's account changed: refused otherwise, naming the invoices and
        the mandate (the account read now, not when the control was opened)."""
        retried = self.filtered(lambda line: line.release == "retry" and line.needs_new_account)
        if not retried:
            return
        changed = retried.storno_id.sudo()._account_changed_ids()
        problems = [
            self._needs_new_account_problem(
                _("%(invoices)s (mandate %(mandate)s)",
                  invoices=", ".join(line.invoice_ids.mapped("name")),
                  mandate=line.mandate_id.name or _("none")),
                line.reason_code, line.storno_id.id in changed)
            for line in retried
            if not (line.retry_anyway and line.storno_id.id in changed)]
        if problems:
            raise ValidationError("\n".join(problems[:SHOWN]))

    @api.constrains("release", "mandate_id")
    def _check_release(self):
        retry = self.filtered(lambda line: line.release == "retry")
        active = set(self.env["sepa.mandate"].sudo().search(  # one query for thousands
            [("id", "in", retry.mandate_id.ids), ("state", "=", "active")]).ids)
        blocked = retry.filtered(lambda line: line.mandate_id.id not in active)
        if blocked:
            raise ValidationError(_(
                "These failed debits cannot be retried, their mandate is not active; hold "
                "them or take them out of direct debit:\n%(list)s",
                list="\n".join(
                    _("%(invoices)s (mandate %(mandate)s, %(state)s)",
                      invoices=", ".join(line.invoice_ids.mapped("name")),
                      mandate=line.mandate_id.name or _("none"),
                      state=dict(line._fields["mandate_state"]._description_selection(
                          line.env)).get(line.mandate_id.state, _("none")).lower())
                    for line in blocked[:SHOWN])))


def _default_sequence_type(after_settlement, keeps_first):
    """Sequence type after a failed first debit, from what happened: a reject before
    settlement (but a duplicate) leaves it first; after settlement it took place."""
    return "recurring" if after_settlement or not keeps_first else "first"
