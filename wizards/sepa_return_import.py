"""Import of the bank's return files (camt.054, camt.053, pain.002): preview, then register.

The file is read by ``sepa/readers`` (safe parsing, no XML here). Its R-transactions are
matched to the debits of the company's sent and settled batches by ``sepa.return.matcher``
(ONE SQL read; the same answer as for bank statement lines), checked against what is
already registered in one more, and shown as transient preview lines. ``action_apply``
registers them in one transaction through ``sepa.storno.register`` /
``register_unmatched``.

A file is identified by the SHA-256 of its bytes, kept in the stornos' ``import_ref``
(``sha256:<hex> <file name>``); a transaction by the bank's reference (``transaction_ref``,
see ``_transaction_ref``).
"""

import base64
import hashlib
import json
from collections import defaultdict

from psycopg2 import IntegrityError

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_datetime

from ..bulk import insert_records
from ..sepa import SepaError
from ..sepa.readers import read_message

KIND_SELECTION = [
    ("reject", "Reject"),
    ("return", "Return"),
    ("refund", "Refund"),
    ("reversal", "Reversal"),
]


class SepaReturnImport(models.TransientModel):
    _name = "sepa.return.import"
    _description = "SEPA Direct Debit Return File Import"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        help="Creditor company whose debits the file reports.")
    data_file = fields.Binary(
        string="Return File", required=True, attachment=True,
        help="The bank's camt.054, camt.053 or pain.002 file with the failed debits.")
    filename = fields.Char(help="Name of the imported file.")
    batch_id = fields.Many2one(
        "sepa.batch", string="Batch", check_company=True,
        domain="[('state', 'in', ('sent', 'done')), ('company_id', '=', company_id)]",
        help="The batch the file is expected to report on (the file's transactions of "
        "other batches are matched as well).")
    state = fields.Selection(
        [("upload", "Upload"), ("preview", "Preview")], default="upload", required=True,
        help="Upload the file, then check the preview before registering.")
    message = fields.Char(
        string="File Type", readonly=True, help="Message type and version read, e.g. "
        "camt.054.001.02.")
    file_sha256 = fields.Char(
        string="File Fingerprint", readonly=True,
        help="SHA-256 of the file's bytes: the same file imported twice is recognised.")
    previous_import = fields.Char(
        readonly=True, help="When this same file was imported before, and what it registered.")
    batch_warning = fields.Char(
        readonly=True, help="Set when no transaction of the file belongs to the chosen batch.")
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.ref("base.EUR"), help="Euro.")
    line_ids = fields.One2many(
        "sepa.return.import.line", "import_id", string="Transactions",
        help="Every failed debit read from the file.")
    match_line_ids = fields.One2many(
        "sepa.return.import.line", "import_id", string="To Register",
        domain=[("status", "=", "match")], help="Failed debits matched to a debit.")
    unmatched_line_ids = fields.One2many(
        "sepa.return.import.line", "import_id", string="Unmatched",
        domain=[("status", "=", "unmatched")],
        help="Transactions that match no debit: kept as unmatched stornos to match by hand.")
    registered_line_ids = fields.One2many(
        "sepa.return.import.line", "import_id", string="Already Registered",
        domain=[("status", "=", "registered")],
        help="Transactions registered before (this file, another file or a bank statement "
        "line): skipped.")
    match_count = fields.Integer(
        string="Failed Debits to Register", compute="_compute_counts",
        help="Failed debits to register.")
    match_amount = fields.Monetary(
        string="Amount to Register", compute="_compute_counts",
        help="Total of the failed debits to register.")
    unmatched_count = fields.Integer(
        string="Unmatched Transactions", compute="_compute_counts",
        help="Transactions matching no debit.")
    registered_count = fields.Integer(
        string="Skipped (Registered Before)", compute="_compute_counts",
        help="Transactions skipped because they are registered already.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("line_ids.status", "line_ids.amount")
    def _compute_counts(self):
        groups = self.env["sepa.return.import.line"]._read_group(
            [("import_id", "in", self.ids)], ["import_id", "status"],
            ["__count", "amount:sum"])
        counts = {(wizard.id, status): (count, amount)
                  for wizard, status, count, amount in groups}
        for wizard in self:
            wizard.match_count, wizard.match_amount = counts.get((wizard.id, "match"), (0, 0))
            wizard.unmatched_count = counts.get((wizard.id, "unmatched"), (0, 0))[0]
            wizard.registered_count = counts.get((wizard.id, "registered"), (0, 0))[0]

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_preview(self):
        """Read the file, match its R-transactions and show them."""
        self.ensure_one()
        self._preview()
        return self._reopen()

    def action_apply(self):
        """Register the matched failed debits and keep the unmatched ones, in one go.

        What another user registered since the preview is skipped (checked again in
        one read, without reading the file again). The database refuses a transaction
        or a debit registered twice, also when two users import the same file at the
        same moment.
        """
        self.ensure_one()
        unchanged = self.state == "preview" and hashlib.sha256(
            self._file_bytes()).hexdigest() == self.file_sha256
        if unchanged:
            self._refresh_registered()
        else:
            self._preview()
        to_register = self.match_line_ids
        unmatched = self.unmatched_line_ids
        if not to_register and not unmatched:
            raise UserError(self.previous_import or _(
                "Nothing to register: every failed debit of %(file)s is registered already "
                "(see the preview).", file=self.filename or _("this file")))
        Storno = self.env["sepa.storno"]
        try:
            with self.env.cr.savepoint():
                stornos = Storno.browse()
                if to_register:
                    stornos |= Storno.register(self._prepare_register_vals(to_register))
                if unmatched:
                    stornos |= Storno.register_unmatched(
                        self._prepare_unmatched_vals(unmatched))
                self.env.flush_all()
        except IntegrityError:
            raise UserError(_(
                "Another user registered some of these failed debits meanwhile. Import "
                "the file again to see what is left to register.")) from None
        return self._open_stornos(stornos)

    # ------------------------------------------------------------------
    # BUSINESS: preview
    # ------------------------------------------------------------------

    def _preview(self):
        if self.company_id not in self.env.companies:  # the reads below are plain SQL
            raise AccessError(_("You can only import return files of your active companies."))
        data = self._file_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        result = self._read_file(data)
        del data  # read: not kept while the preview is built
        self.file_sha256 = sha256
        rows = self._prepare_line_vals(result)
        self.line_ids.unlink()
        insert_records(self.env["sepa.return.import.line"], rows)
        self.write({
            "state": "preview",
            "message": result.message,
            "previous_import": self._previous_import(),
            "batch_warning": self._batch_warning(rows),
        })

    def _refresh_registered(self):
        """Mark the preview lines registered meanwhile (by another user, another file or
        a statement line), in one read; the file's date of import too."""
        self.line_ids.flush_model()
        rows = self.env.execute_query_dict(SQL(
            """SELECT id, transaction_ref, batch_line_id FROM sepa_return_import_line
                WHERE import_id = %s AND status != 'registered'""", self.id))
        done = self._registered(rows)
        Line = self.env["sepa.return.import.line"]
        for row in rows:
            note = done["refs"].get(row["transaction_ref"]) or done["lines"].get(
                row["batch_line_id"])
            if note:
                Line.browse(row["id"]).write({"status": "registered", "note": note})
        self.previous_import = self._previous_import()

    def _file_bytes(self):
        value = self.data_file
        if not value:
            raise UserError(_("Choose the bank's return file first."))
        # not kept in the cache: tens of megabytes for a large file
        self.invalidate_recordset(["data_file"])
        return base64.b64decode(value)

    def _read_file(self, data):
        """The file's ReadResult; a UserError for anything that is not a return file."""
        name = self.filename or _("The file")
        try:
            result = read_message(data)
        except SepaError as error:
            if "pain.008" in str(error.value or ""):
                raise UserError(_(
                    "%(file)s is a direct debit collection file (pain.008), the file sent "
                    "to the bank, not one of the bank's return files. Import the camt.054, "
                    "camt.053 or pain.002 file the bank sent back.", file=name)) from None
            raise UserError(_("%(file)s cannot be read as a return file: %(error)s",
                              file=name, error=error)) from None
        if not result.stornos:
            raise UserError(_(
                "%(file)s (%(message)s) reports no failed direct debit: no reject, return, "
                "refund or reversal of a direct debit. Nothing was imported.",
                file=name, message=result.message))
        return result

    def _import_ref(self):
        return f"sha256:{self.file_sha256} {self.filename or ''}".strip()

    def _prepare_line_vals(self, result):
        """One value dict per preview line, in the file's order."""
        stornos = result.stornos
        matches = self.env["sepa.return.matcher"].match_file(self.company_id, stornos)
        today = fields.Date.context_today(self)
        reasons = self._reason_names(stornos)
        rows = []
        for record, pairs in zip(stornos, matches, strict=True):
            for debit, note in pairs:
                rows.append(self._line_vals(result, record, debit, note, today, len(rows)))
                rows[-1]["reason_name"] = reasons.get((record.reason_code or "").strip().upper())
        self._mark_registered(rows)
        return rows

    def _reason_names(self, stornos):
        """``{code: name}`` of the file's reason codes (one read, in the user's language);
        a code not in the list yet reads "Unknown reason" (it is added on registration)."""
        codes = {(r.reason_code or "").strip().upper() for r in stornos} - {""}
        names = dict.fromkeys(codes, _("Unknown reason"))
        reasons = self.env["sepa.return.reason"].with_context(active_test=False).search_read(
            [("code", "in", list(codes))], ["code", "name"])
        names.update((reason["code"], reason["name"]) for reason in reasons)
        return names

    def _line_vals(self, result, record, debit, note, today, sequence):
        amount = record.amount
        if debit and (record.level != "tx" or amount is None):
            amount = debit["amount"]
        vals = {
            "import_id": self.id,
            "sequence": sequence,
            "status": "match" if debit and not note else "unmatched",
            "level": record.level,
            "kind": record.kind,
            "end_to_end_id": record.end_to_end_id or (debit and debit["end_to_end_id"]),
            "mandate_reference": record.mandate_id or (debit and debit["mandate_ref"]),
            "amount": float(amount if amount is not None else 0),
            "collection_date": record.collection_date,
            "date": record.booking_date or record.value_date or today,
            "reason_code": record.reason_code or False,
            "charge_amount": float(record.charges or 0),
            "transaction_ref": _transaction_ref(result, record, debit, self.file_sha256,
                                                sequence),
            "note": note or False,
            # kept for the unmatched ones only (a registered storno has its debit)
            "raw_data": json.dumps(record.to_json_dict(), sort_keys=True)
            if not debit or note else None,
        }
        if debit:  # its batch, mandate and customer are the line's (related)
            vals["batch_line_id"] = debit["line_id"]
        return vals

    def _mark_registered(self, rows):
        """Turn into "already registered" the rows whose transaction or debit is
        registered (one read), or that repeat a transaction or debit of this file."""
        done = self._registered(rows)
        seen_refs, seen_lines = {}, {}
        for row in rows:
            ref, line = row["transaction_ref"], row.get("batch_line_id")
            note = done["refs"].get(ref) or (line and done["lines"].get(line))
            if not note and ref in seen_refs:
                note = _("Twice in this file (transaction %(n)s).", n=seen_refs[ref] + 1)
            elif not note and line and line in seen_lines and row["status"] == "match":
                note = _("This debit failed already in this file (transaction %(n)s).",
                         n=seen_lines[line] + 1)
            seen_refs.setdefault(ref, row["sequence"])
            if row["status"] == "match" and line:
                seen_lines.setdefault(line, row["sequence"])
            if note:
                row.update(status="registered", note=note)

    def _registered(self, rows):
        """Stornos already registered for these rows: ``{"refs": {transaction_ref:
        note}, "lines": {batch line id: note}}``, in one read. A debit counts as
        registered when it has a done storno, matched through any of its lines."""
        refs = [row["transaction_ref"] for row in rows]
        line_ids = [row["batch_line_id"] for row in rows if row.get("batch_line_id")]
        self.env["sepa.storno"].flush_model()
        columns = SQL("""s.transaction_ref, s.state, s.source, s.import_ref, s.create_date,
                         s.name, stl.payment_ref AS statement_ref""")
        statement = SQL(
            "LEFT JOIN account_bank_statement_line stl ON stl.id = s.statement_line_id")
        found = self.env.execute_query_dict(SQL(
            """
            SELECT %(columns)s, NULL::int AS line_id
              FROM sepa_storno s %(statement)s
             WHERE s.company_id = %(company)s AND s.transaction_ref = ANY(%(refs)s)
               AND s.transaction_ref != '' AND s.state != 'cancelled'
             UNION ALL
            SELECT %(columns)s, d.id
              FROM sepa_batch_line d
              JOIN sepa_batch_line l ON l.batch_id = d.batch_id
                                    AND l.end_to_end_id = d.end_to_end_id
              JOIN sepa_storno s ON s.batch_line_id = l.id AND s.state = 'done'
                   %(statement)s
             WHERE d.id = ANY(%(lines)s)
            """, columns=columns, statement=statement, company=self.company_id.id,
            refs=refs, lines=line_ids))
        result = {"refs": {}, "lines": {}}
        note = self._registered_note_maker()
        for storno in found:
            if storno["line_id"] is None:
                result["refs"].setdefault(storno["transaction_ref"], note(storno))
            else:
                result["lines"].setdefault(storno["line_id"], note(storno))
        return result

    def _registered_note_maker(self):
        """A function giving the note of one registered storno; the translations and
        dates are looked up once for the thousands of lines of a file imported again."""
        env = self.env
        unmatched = env._("Kept as unmatched on %(date)s (%(origin)s).")
        registered = env._("Registered on %(date)s as %(storno)s (%(origin)s).")
        dates, origins = {}, {}

        def note(storno):
            created = storno["create_date"]
            if created not in dates:
                dates[created] = format_datetime(env, created, dt_format="short")
            origin = (storno["source"], storno["statement_ref"], storno["import_ref"])
            if origin not in origins:
                origins[origin] = _origin(env, storno)
            values = {"date": dates[created], "storno": storno["name"],
                      "origin": origins[origin]}
            return (unmatched if storno["state"] == "unmatched" else registered) % values

        return note

    def _previous_import(self):
        """The sentence saying when this same file was imported, or False."""
        self.env["sepa.storno"].flush_model()
        rows = self.env.execute_query(SQL(
            """SELECT MIN(s.create_date), MIN(p.name), COUNT(*) FILTER (WHERE s.state = 'done'),
                      COUNT(*) FILTER (WHERE s.state = 'unmatched')
                 FROM sepa_storno s
                 JOIN res_users u ON u.id = s.create_uid
                 JOIN res_partner p ON p.id = u.partner_id
                WHERE s.company_id = %s AND s.import_ref LIKE %s AND s.state != 'cancelled'
               HAVING COUNT(*) > 0""",
            self.company_id.id, f"sha256:{self.file_sha256}%"))
        if not rows:
            return False
        when, user_name, done, unmatched = rows[0]
        return _("This file was imported on %(date)s by %(user)s (%(done)s failed debits "
                 "registered, %(unmatched)s unmatched): importing it again registers "
                 "nothing.", date=format_datetime(self.env, when, dt_format="short"),
                 user=user_name, done=done, unmatched=unmatched)

    def _batch_warning(self, rows):
        if not self.batch_id:
            return False
        line_ids = [row["batch_line_id"] for row in rows if row.get("batch_line_id")]
        self.env["sepa.batch.line"].flush_model(["batch_id"])
        if self.env.execute_query(SQL(
                "SELECT 1 FROM sepa_batch_line WHERE id = ANY(%s) AND batch_id = %s LIMIT 1",
                line_ids, self.batch_id.id)):
            return False
        return _("No transaction of this file belongs to batch %(batch)s.",
                 batch=self.batch_id.name)

    # ------------------------------------------------------------------
    # BUSINESS: registration
    # ------------------------------------------------------------------

    def _prepare_register_vals(self, lines):
        """``sepa.storno.register`` values of the matched lines (one read of them)."""
        import_ref = self._import_ref()
        vals_list = []
        for row in self._line_rows(lines):
            vals = {
                "batch_line_id": row["batch_line_id"],
                "reason_code": row["reason_code"],
                "kind": row["kind"],
                "date": row["date"],
                "source": "file",
                "import_ref": import_ref,
                "transaction_ref": row["transaction_ref"],
            }
            if row["charge_amount"]:  # otherwise the company's default charge
                vals["charge_amount"] = row["charge_amount"]
            vals_list.append(vals)
        return vals_list

    def _prepare_unmatched_vals(self, lines):
        import_ref = self._import_ref()
        return [{
            "end_to_end_id": row["end_to_end_id"],
            "mandate_reference": row["mandate_reference"],
            "amount": row["amount"],
            "reason_code": row["reason_code"],
            "kind": row["kind"],
            "date": row["date"],
            "import_ref": import_ref,
            "transaction_ref": row["transaction_ref"],
            "raw_data": json.loads(row["raw_data"]),
            "company_id": self.company_id.id,
        } for row in self._line_rows(lines)]

    def _line_rows(self, lines):
        if not lines:
            return []
        lines.flush_model()
        return self.env.execute_query_dict(SQL(
            """SELECT batch_line_id, end_to_end_id, mandate_reference, amount, reason_code,
                      kind, date, charge_amount, transaction_ref, raw_data
                 FROM sepa_return_import_line WHERE id = ANY(%s) ORDER BY sequence""",
            lines.ids))

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Import Return File"),
        }

    def _open_stornos(self, stornos):
        return {
            "type": "ir.actions.act_window",
            "res_model": "sepa.storno",
            "name": _("Failed Debits of %(file)s", file=self.filename or _("the file")),
            "view_mode": "list,form",
            "domain": [("id", "in", stornos.ids)],
            "target": "current",
        }


class SepaReturnImportLine(models.TransientModel):
    _name = "sepa.return.import.line"
    _description = "SEPA Direct Debit Return File Import Line"
    _order = "sequence, id"

    import_id = fields.Many2one(
        "sepa.return.import", required=True, ondelete="cascade", index=True,
        help="The import this transaction was read in.")
    sequence = fields.Integer(help="Position of the transaction in the file.")
    status = fields.Selection(
        [("match", "To Register"), ("unmatched", "Unmatched"),
         ("registered", "Already Registered")],
        required=True, help="To Register: matched to a debit; Unmatched: kept as an "
        "unmatched storno to match by hand; Already Registered: skipped.")
    level = fields.Selection(
        [("tx", "Transaction"), ("entry", "Entry"), ("group", "Whole File"),
         ("pmtinf", "Payment Block")],
        help="What the bank reported on: one debit, a whole bank entry, every debit of the "
        "original file or of one of its payment information blocks.")
    kind = fields.Selection(
        KIND_SELECTION, required=True,
        help="Reject (before settlement), return, refund (MD06) or reversal.")
    batch_line_id = fields.Many2one(
        "sepa.batch.line", string="Batch Line", help="First line of the debit that failed.")
    # Related, not stored: a preview of 50,000 transactions would check three more
    # foreign keys per line when it is written.
    batch_id = fields.Many2one(
        "sepa.batch", string="Batch", related="batch_line_id.batch_id",
        help="Batch of the debit.")
    invoice_ids = fields.Many2many(
        "account.move", string="Invoices", compute="_compute_invoice_ids",
        help="Invoices collected by the debit (merged invoices share it).")
    mandate_id = fields.Many2one(
        "sepa.mandate", string="Mandate", related="batch_line_id.mandate_id",
        help="Mandate debited.")
    partner_id = fields.Many2one(
        "res.partner", string="Debtor", related="batch_line_id.partner_id",
        help="Customer debited.")
    end_to_end_id = fields.Char(string="End-to-End Id", help="End-to-end id in the file.")
    mandate_reference = fields.Char(help="Mandate reference in the file.")
    amount = fields.Monetary(help="Amount of the failed debit.")
    charge_amount = fields.Monetary(string="Bank Charge", help="Charges the bank reported.")
    currency_id = fields.Many2one(related="import_id.currency_id", help="Euro.")
    collection_date = fields.Date(help="Collection date in the file, when given.")
    date = fields.Date(help="Date of the R-transaction (booking date, or today).")
    reason_code = fields.Char(help="ISO reason code reported by the bank.")
    reason_name = fields.Char(string="Reason", help="What the reason code means.")
    transaction_ref = fields.Char(
        string="Bank Reference", help="The bank's reference of the R-transaction.")
    note = fields.Char(help="Why the transaction is unmatched or skipped.")
    raw_data = fields.Text(help="Values read from the file (unmatched transactions).")

    @api.depends("batch_line_id")
    def _compute_invoice_ids(self):
        """The invoices of each debit in one read."""
        lines = self.filtered("batch_line_id")
        invoices = defaultdict(list)
        if lines:
            self.env["sepa.batch.line"].flush_model(["batch_id", "end_to_end_id", "invoice_id"])
            for line_id, invoice_ids in self.env.execute_query(SQL(
                    """SELECT f.id, ARRAY_AGG(o.invoice_id ORDER BY o.id)
                         FROM sepa_batch_line f JOIN sepa_batch_line o
                           ON o.batch_id = f.batch_id AND o.end_to_end_id = f.end_to_end_id
                        WHERE f.id = ANY(%s) GROUP BY f.id""", lines.batch_line_id.ids)):
                invoices[line_id] = invoice_ids
        for line in self:
            line.invoice_ids = invoices.get(line.batch_line_id.id, [])


def _transaction_ref(result, record, debit, sha256, sequence):
    """The bank's identity of one R-transaction, the same in every file that reports it:
    the transaction's AcctSvcrRef; else the entry's (or the pain.002 report's) reference
    with the end-to-end id; a pain.002 reject of a whole file or block gives one per
    debit. Without any reference: the file's fingerprint and the position."""
    e2e = record.end_to_end_id or (debit and debit["end_to_end_id"]) or None
    if record.tx_acct_svcr_ref:
        return record.tx_acct_svcr_ref
    if result.message.startswith("pain.002"):
        base = f"pain.002/{result.report_msg_id}" if result.report_msg_id else None
        parts = [base, e2e] if e2e else [base, record.msg_id, record.pmt_inf_id]
    else:
        parts = [record.acct_svcr_ref or record.ntry_ref, e2e]
        base = parts[0]
    if not base:
        return f"sha256:{sha256[:16]}/{sequence + 1}"
    return "/".join(part for part in parts if part)


def _origin(env, storno):
    if storno["source"] == "statement":
        return env._("bank statement line %(line)s", line=storno["statement_ref"] or "-")
    if storno["source"] == "manual":
        return env._("by hand")
    ref = storno["import_ref"] or ""
    return env._("file %(file)s", file=ref.split(" ", 1)[1] if " " in ref else ref or "-")

