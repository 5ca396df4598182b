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

A pain.002 rejecting a whole file (``GrpSts`` RJCT) or payment block (``PmtInfSts`` RJCT)
is the creditor's problem, never the debtors' (``_whole_rejects``): nothing is registered
for a batch or block the bank credited already, nor for a reject of a duplicate upload;
a sent batch whose whole file was rejected is undone as a cancel and marked *Rejected by
the Bank* (``sepa.batch._reject_by_bank``): no storno, charge, fee or points.
"""

import base64
import hashlib
import json
from collections import defaultdict

from psycopg2 import IntegrityError

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date, format_datetime

from ..bulk import insert_records
from ..sepa import SepaError, mask_account
from ..sepa.readers import read_message
from ..sepa.reasons import get_reason

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
    # Not required: an empty file reaches the server, which says so in words.
    data_file = fields.Binary(
        string="Return File", attachment=True,
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
    report_msg_id = fields.Char(
        string="Message Id",
        help="The return file's message identifier (GrpHdr/MsgId), kept on its failed "
        "debits: the bank statement line that books them may name it.")
    file_sha256 = fields.Char(
        string="File Fingerprint", readonly=True,
        help="SHA-256 of the file's bytes: the same file imported twice is recognised.")
    previous_import = fields.Char(
        readonly=True, help="When this same file was imported before, and what it registered.")
    batch_warning = fields.Char(
        readonly=True, help="Set when no transaction of the file belongs to the chosen batch.")
    setup_warning = fields.Text(
        readonly=True, help="What registering these failed debits would refuse or leave "
        "out with the company's settings (accounts, storno fee product): correct the "
        "settings, then preview again.")
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
    whole_line_ids = fields.One2many(
        "sepa.return.import.line", "import_id", string="Whole Batches",
        domain=[("status", "in", ("batch_reject", "skipped"))],
        help="Rejects of a whole file or payment block: a sent batch the bank rejected as "
        "a whole (undone, nothing charged), or a reject that registers nothing, with why "
        "(the batch was credited already, a duplicate upload).")
    batch_reject_count = fields.Integer(
        string="Batches Rejected by the Bank", compute="_compute_counts",
        help="Sent batches whose whole file the bank rejected: registering undoes them as "
        "a cancel and marks them rejected by the bank; no charge, fee or storno points.")
    whole_count = fields.Integer(
        string="Whole Batch Lines", compute="_compute_counts",
        help="Lines about a whole batch or payment block.")
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
    charge_count = fields.Integer(
        string="Transactions with a Bank Charge", compute="_compute_counts",
        help="Transactions of the file with a bank charge: the Bank Charge column is shown "
        "when there is one.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("line_ids.status", "line_ids.amount", "line_ids.charge_amount")
    def _compute_counts(self):
        groups = self.env["sepa.return.import.line"]._read_group(
            [("import_id", "in", self.ids)], ["import_id", "status"],
            ["__count", "amount:sum"])
        counts = {(wizard.id, status): (count, amount)
                  for wizard, status, count, amount in groups}
        charged = dict(self.env["sepa.return.import.line"]._read_group(
            [("import_id", "in", self.ids), ("charge_amount", "!=", 0)], ["import_id"],
            ["__count"]))
        for wizard in self:
            wizard.match_count, wizard.match_amount = counts.get((wizard.id, "match"), (0, 0))
            wizard.unmatched_count = counts.get((wizard.id, "unmatched"), (0, 0))[0]
            wizard.registered_count = counts.get((wizard.id, "registered"), (0, 0))[0]
            wizard.batch_reject_count = counts.get((wizard.id, "batch_reject"), (0, 0))[0]
            wizard.whole_count = wizard.batch_reject_count + counts.get(
                (wizard.id, "skipped"), (0, 0))[0]
            wizard.charge_count = charged.get(wizard, 0)

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
        Line = self.env["sepa.return.import.line"]
        to_reject = Line.search([("import_id", "=", self.id), ("status", "=", "batch_reject")])
        if not to_register and not unmatched and not to_reject:
            skipped = Line.search([("import_id", "=", self.id), ("status", "=", "skipped")])
            raise UserError(self.previous_import or (skipped and _(
                "Nothing to register:\n%(why)s", why="\n".join(skipped.mapped("note"))))
                or _("Nothing to register: every failed debit of %(file)s is registered "
                     "already (see the preview).", file=self.filename or _("this file")))
        Storno = self.env["sepa.storno"]
        try:
            with self.env.cr.savepoint():
                rejected = self._reject_batches(to_reject)
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
        self._log_on_batches(stornos)
        if rejected and not stornos:
            return self._open_batches(rejected)
        return self._open_stornos(stornos)

    def _log_on_batches(self, stornos):
        """ONE note on each batch with failed debits registered by this import: how many,
        from which file (in the reader's language)."""
        counts = self.env["sepa.storno"]._read_group(
            [("id", "in", stornos.ids), ("state", "=", "done"), ("batch_id", "!=", False)],
            ["batch_id"], ["__count"])
        if not counts:
            return
        name = self.filename or _("the file")
        self.env["mail.message"]._sepa_log(
            self.env["sepa.batch"].browse(batch.id for batch, _count in counts),
            {batch.id: [("returns_registered_one", {"file": name}) if count == 1 else
                        ("returns_registered", {"count": count, "file": name})]
             for batch, count in counts})

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
            "report_msg_id": result.report_msg_id or False,
            "previous_import": self._previous_import(),
            "batch_warning": self._batch_warning(rows),
            "setup_warning": self._setup_warning(rows),
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
        if not value and self.filename:  # a file was chosen: it has no content
            raise UserError(self._empty_file_message())
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
            if error.field == "size" and error.value == 0:
                raise UserError(self._empty_file_message()) from None
            if error.field == "end":
                raise UserError(_(
                    "%(file)s: the file is not complete (it ends before the message does). "
                    "It was probably cut off while it was downloaded or copied: download "
                    "it from the bank again. Nothing was imported.", file=name)) from None
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
        self._check_file_is_ours(result, name)
        return result

    def _check_file_is_ours(self, result, name):
        """Refuse a file of another account holder (its failed debits would be kept as
        unmatched stornos with strangers' names and IBANs): a camt file's accounts must
        be bank accounts of the company's bank journals, a pain.002 must report on one
        of the company's batches. One read."""
        company = self.company_id
        if result.message.startswith("pain.002"):
            self.env["sepa.batch"].flush_model(["name", "company_id"])
            if not result.original_msg_id or not self.env.execute_query(SQL(
                    "SELECT 1 FROM sepa_batch WHERE company_id = %s AND name = %s LIMIT 1",
                    company.id, result.original_msg_id)):
                raise UserError(_(
                    "%(file)s reports on file %(msg_id)s, which is no direct debit batch "
                    "of %(company)s. Import it in the company that sent that file. Nothing "
                    "was imported.", file=name, msg_id=result.original_msg_id or "-",
                    company=company.name))
            return
        self.env["account.journal"].flush_model(["type", "company_id", "bank_account_id"])
        self.env["res.partner.bank"].flush_model(["sanitized_acc_number"])
        ours = {row[0] for row in self.env.execute_query(SQL(
            """SELECT UPPER(b.sanitized_acc_number) FROM account_journal j
                 JOIN res_partner_bank b ON b.id = j.bank_account_id
                WHERE j.type = 'bank' AND j.company_id = %s""", company.id))}
        for account in result.accounts:
            if not account:
                raise UserError(_(
                    "%(file)s does not say which bank account it is for: nothing was "
                    "imported.", file=name))
            if "".join(account.split()).upper() not in ours:
                raise UserError(_(
                    "%(file)s is for bank account %(account)s, which is not the account of "
                    "a bank journal of %(company)s. Import it in the company that holds "
                    "this account, or set the account on its bank journal. Nothing was "
                    "imported.", file=name, account=mask_account(account),
                    company=company.name))

    def _empty_file_message(self):
        return _("%(file)s: the file is empty. Download the return file from the bank "
                 "again; nothing was imported.", file=self.filename or _("The file"))

    def _import_ref(self):
        return f"sha256:{self.file_sha256} {self.filename or ''}".strip()

    def _prepare_line_vals(self, result):
        """One value dict per preview line, in the file's order."""
        stornos = result.stornos
        whole = self._whole_rejects(stornos)
        matched = iter(self.env["sepa.return.matcher"].match_file(
            self.company_id,
            [record for position, record in enumerate(stornos) if position not in whole]))
        today = fields.Date.context_today(self)
        reasons = self._reason_names(stornos)
        rows = []
        for position, record in enumerate(stornos):
            if position in whole:
                rows.append(self._whole_line_vals(result, record, whole[position], today,
                                                  len(rows)))
                rows[-1]["reason_name"] = reasons.get(
                    (record.reason_code or "").strip().upper())
                continue
            for debit, note in next(matched):
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
        # a matched transaction shows the debit's amount (what is registered), its bank
        # charge beside it; an unmatched one the file's
        amount = debit["amount"] if debit else record.amount
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

    def _whole_rejects(self, stornos):
        """What the rejects of a whole file or payment block of ``stornos`` do:
        ``{position in stornos: (status, batch row, amount, note)}``, in two reads.

        A whole-file or block reject is the creditor's problem, never the debtors':

        * of a batch (block) the bank has credited already (settled, or a block's credit
          reconciled): a reject of a second upload of it; nothing is registered;
        * with a duplicate's reason (``DU01``: the bank had the file already, that
          upload stands): nothing is registered;
        * of a batch rejected by the bank already: nothing to do;
        * of the whole file of a sent batch: ``batch_reject``, the batch is undone;
        * of one block of a sent batch: not here (each debit is a reject, see
          ``sepa.return.matcher``; the reason says whether it is charged).

        Rejects naming no batch of the company are left to ``sepa.return.matcher``
        (unmatched).
        """
        wanted = {position: record for position, record in enumerate(stornos)
                  if record.level in ("group", "pmtinf")}
        if not wanted:
            return {}
        batches = self._whole_batch_rows(
            {r.msg_id for r in wanted.values() if r.level == "group" and r.msg_id},
            {r.pmt_inf_id for r in wanted.values() if r.level == "pmtinf" and r.pmt_inf_id})
        by_name = {row["name"]: row for row in batches}
        result = {}
        for position, record in wanted.items():
            if record.level == "group":
                batch = by_name.get(record.msg_id)
                block, amount = None, batch and batch["amount"]
            else:
                batch = next((row for row in batches
                              if record.pmt_inf_id in row["blocks"]
                              and row["state"] in ("sent", "done", "rejected")
                              and (not record.msg_id or record.msg_id == row["name"])),
                             None)
                block = record.pmt_inf_id
                amount = batch and batch["blocks"][block]
            if batch is None or batch["state"] not in ("sent", "done", "rejected"):
                continue
            decision = self._whole_decision(record, batch, block)
            if decision:
                result[position] = (decision[0], batch, amount, decision[1])
        return result

    def _whole_decision(self, record, batch, block):
        """``(status, note)`` for a whole-file or block reject of ``batch`` (a
        ``_whole_batch_rows`` row), or None: its debits are rejected one by one."""
        env = self.env
        if batch["state"] == "rejected":
            return "skipped", env._(
                "Batch %(batch)s was rejected by the bank on %(date)s already: nothing to do.",
                batch=batch["name"], date=format_date(env, batch["bank_reject_date"]))
        credited = batch["credited"].get(block) if block else min(
            batch["credited"].values(), default=None)
        collected = batch["collected"].get(block) if block else any(
            batch["collected"].values())
        if not credited and batch["state"] == "done" and collected:
            credited = batch["settled_date"]  # settled without a bank line of ours
        code = (record.reason_code or "").strip().upper()
        if credited and block:
            return "skipped", env._(
                "Payment block %(block)s of batch %(batch)s was credited on %(date)s; this "
                "report rejects a second upload of it: nothing is registered.",
                block=block, batch=batch["name"], date=format_date(env, credited))
        if credited:
            return "skipped", env._(
                "Batch %(batch)s: the batch was credited on %(date)s; this report rejects a "
                "second upload of it: nothing is registered.",
                batch=batch["name"], date=format_date(env, credited))
        if batch["state"] == "done":
            return None  # every debit failed already: their stornos say so
        if get_reason(code).duplicate:
            return "skipped", env._(
                "This report rejects an upload of batch %(batch)s as a duplicate (%(code)s): "
                "the bank has the file already and credits the upload it accepted; the "
                "batch stays as it is, nothing is registered.",
                batch=batch["name"], code=code)
        if block:
            return None
        return "batch_reject", env._(
            "The bank rejected the whole file: registering undoes batch %(batch)s as a "
            "cancel (its invoices are proposed again) and marks it rejected by the bank; "
            "no bank charge, fee or storno points.", batch=batch["name"])

    def _whole_batch_rows(self, names, blocks):
        """The company's batches named ``names`` or holding the payment blocks ``blocks``:
        dicts with ``id``, ``name``, ``state``, ``settled_date``, ``bank_reject_date``,
        ``amount``, ``blocks`` (``{block: amount}``), ``collected`` (``{block: a debit of
        it was collected}``) and ``credited`` (``{block: date of the bank's first credit
        reconciled with its transit line}``: the storno entries' credits of rejects are
        no credit of the bank)."""
        for model in ("sepa.batch", "sepa.batch.line", "account.move.line",
                      "account.partial.reconcile"):
            self.env[model].flush_model()
        batches = {}
        for row in self.env.execute_query_dict(SQL(
                """
                SELECT b.id, b.name, b.state, b.settled_date, b.bank_reject_date,
                       l.pmt_inf_id, SUM(l.amount) AS amount,
                       BOOL_OR(l.state = 'collected') AS collected
                  FROM sepa_batch b JOIN sepa_batch_line l ON l.batch_id = b.id
                 WHERE b.company_id = %(company)s
                   AND (b.name = ANY(%(names)s) OR b.id IN (
                        SELECT x.batch_id FROM sepa_batch_line x
                         WHERE x.company_id = %(company)s AND x.pmt_inf_id = ANY(%(blocks)s)))
              GROUP BY b.id, l.pmt_inf_id ORDER BY b.id
                """, company=self.company_id.id, names=list(names), blocks=list(blocks))):
            batch = batches.setdefault(row["id"], dict(
                row, amount=0.0, blocks={}, collected={}, credited={}))
            batch["blocks"][row["pmt_inf_id"]] = row["amount"]
            batch["collected"][row["pmt_inf_id"]] = row["collected"]
            batch["amount"] += row["amount"]
        for batch_id, label, credited in self.env.execute_query(SQL(
                """
                SELECT b.id, t.name, MIN(c.date)
                  FROM sepa_batch b
                  JOIN account_move_line t ON t.move_id = b.move_id
                   AND t.sepa_batch_line_id IS NULL AND t.balance > 0
                  JOIN account_partial_reconcile p ON p.debit_move_id = t.id
                  JOIN account_move_line c ON c.id = p.credit_move_id
                   AND c.sepa_storno_id IS NULL
                 WHERE b.id = ANY(%s)
              GROUP BY b.id, t.id""", list(batches))):
            batch = batches[batch_id]
            words = (label or "").split()
            block = next((block for block in batch["blocks"] if block in words), None)
            batch["credited"][block] = credited
        return list(batches.values())

    def _whole_line_vals(self, result, record, whole, today, sequence):
        status, batch, amount, note = whole
        return {
            "import_id": self.id,
            "sequence": sequence,
            "status": status,
            "level": record.level,
            "kind": record.kind,
            "amount": amount,
            "date": record.booking_date or record.value_date or today,
            "reason_code": record.reason_code or False,
            "charge_amount": 0.0,
            "transaction_ref": _transaction_ref(result, record, None, self.file_sha256,
                                                sequence),
            "note": note,
            "reject_batch_id": batch["id"],
        }

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
            if created not in dates:  # False: the user's language's date and time formats
                dates[created] = format_datetime(env, created, dt_format=False)
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
                 "nothing.", date=format_datetime(self.env, when, dt_format=False),
                 user=user_name, done=done, unmatched=unmatched)

    def _batch_warning(self, rows):
        if not self.batch_id or any(
                row.get("reject_batch_id") == self.batch_id.id for row in rows):
            return False
        line_ids = [row["batch_line_id"] for row in rows if row.get("batch_line_id")]
        self.env["sepa.batch.line"].flush_model(["batch_id"])
        if self.env.execute_query(SQL(
                "SELECT 1 FROM sepa_batch_line WHERE id = ANY(%s) AND batch_id = %s LIMIT 1",
                line_ids, self.batch_id.id)):
            return False
        return _("No transaction of this file belongs to batch %(batch)s.",
                 batch=self.batch_id.name)

    def _setup_warning(self, rows):
        """What the company's settings keep registration of the matched rows from doing
        (``res.company._sepa_registration_warnings``), or False; one read of their
        batches' journals and states."""
        matched = [row for row in rows if row["status"] == "match"]
        if not matched:
            return False
        self.env["sepa.batch.line"].flush_model(["batch_id"])
        self.env["sepa.batch"].flush_model(["journal_id", "state"])
        batch_of = {line_id: (journal_id, state) for line_id, journal_id, state in
                    self.env.execute_query(SQL(
                        """SELECT l.id, b.journal_id, b.state FROM sepa_batch_line l
                             JOIN sepa_batch b ON b.id = l.batch_id WHERE l.id = ANY(%s)""",
                        [row["batch_line_id"] for row in matched]))}
        company = self.company_id
        transit, outstanding = set(), set()
        for row in matched:
            journal_id, state = batch_of[row["batch_line_id"]]
            (transit if row["kind"] == "reject" and state == "sent" else outstanding).add(
                journal_id)
        default_charge = company.currency_id.compare_amounts(
            company.sepa_storno_charge_amount, 0) > 0
        charged = sum(1 for row in matched if row["charge_amount"] or default_charge)
        Journal = self.env["account.journal"]
        warnings = company._sepa_registration_warnings(
            Journal.browse(sorted(transit)), Journal.browse(sorted(outstanding)), charged,
            len(matched))
        return "\n".join(warnings) or False

    # ------------------------------------------------------------------
    # BUSINESS: registration
    # ------------------------------------------------------------------

    def _reject_batches(self, lines):
        """Undo the sent batches whose whole file the bank rejected (``lines``, status
        ``batch_reject``) and mark them rejected by the bank; return them."""
        batches = self.env["sepa.batch"]
        if not lines:
            return batches
        lines.flush_recordset()
        rows = self.env.execute_query_dict(SQL(
            """SELECT reject_batch_id, reason_code, date FROM sepa_return_import_line
                WHERE id = ANY(%s) ORDER BY sequence""", lines.ids))
        reasons = self.env["sepa.return.reason"]._get_or_create(
            row["reason_code"] for row in rows)
        origin = _("file %(file)s", file=self.filename or "-")
        for row in rows:
            batch = batches.browse(row["reject_batch_id"])
            if batch not in batches:
                code = (row["reason_code"] or "").strip().upper() or "NONE"
                batch._reject_by_bank(reasons[code], row["date"], origin)
                batches |= batch
        return batches

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
                "return_msg_id": self.report_msg_id or False,
                "transaction_ref": row["transaction_ref"],
            }
            # otherwise the reason decides (the default charge for a debtor's failure)
            if row["charge_amount"]:
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
            "context": {"dialog_size": "extra-large"},
        }

    def _open_batches(self, batches):
        action = {
            "type": "ir.actions.act_window",
            "res_model": "sepa.batch",
            "name": _("Batches Rejected by the Bank"),
            "target": "current",
        }
        if len(batches) == 1:
            return dict(action, res_id=batches.id, view_mode="form", views=[(False, "form")])
        return dict(action, view_mode="list,form", domain=[("id", "in", batches.ids)])

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
    number = fields.Integer(
        string="#", compute="_compute_number",
        help="Number of the transaction in the file, counted from 1.")
    status = fields.Selection(
        [("match", "To Register"), ("unmatched", "Unmatched"),
         ("registered", "Already Registered"), ("batch_reject", "Batch Rejected"),
         ("skipped", "Not Registered")],
        required=True, help="To Register: matched to a debit; Unmatched: kept as an "
        "unmatched storno to match by hand; Already Registered: skipped. Batch Rejected: "
        "the bank rejected the whole file of a sent batch, which is undone (no storno). "
        "Not Registered: a reject of a whole file or block that changes nothing (see the "
        "note).")
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
    reject_batch_id = fields.Many2one(
        "sepa.batch", string="Rejected Batch",
        help="The batch whose whole file (or payment block) the bank rejected.")
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

    @api.depends("sequence")
    def _compute_number(self):
        for line in self:
            line.number = line.sequence + 1

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

