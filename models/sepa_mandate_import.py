"""Moving in: existing mandates imported through Odoo's standard import.

The import columns (customer, account holder, IBAN, BIC, collected before, last
collection date) are non-stored fields of the mandate: the import dialog offers them and
matches the template's headers to them. ``load`` (what the import runs, also for the Test
button) checks every row first and answers with one message per row and column when
anything is wrong, nothing created; otherwise it turns the import columns into the
mandate's own fields in a few set-wise steps (one customer search, one bank account
search and create) and hands the rows to the standard ``load``, which creates the
mandates in one ``create``.
"""

import logging
from collections import defaultdict

import psycopg2

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError

from odoo.addons.base_iban.models.res_partner_bank import pretty_iban

from ..bulk import insert_records
from ..sepa import SepaError
from ..sepa.charset import check_identifier
from ..sepa.ids import validate_bic, validate_iban

_logger = logging.getLogger(__name__)

#: The import columns, in the template's order after the mandate's own fields.
IMPORT_COLUMNS = (
    "import_customer", "import_account_holder", "import_iban", "import_bic",
    "import_collected_before", "import_last_collection_date",
)
#: The mandate's fields ``load`` fills from what it checked and resolved.
RESOLVED_COLUMNS = (
    "mandate_type", "scheme", "partner_id/.id", "partner_bank_id/.id", "state",
    "last_debit_date", "sequence_type_override", "converted",
)

RESOLVED_NAMES = {column.split("/")[0] for column in RESOLVED_COLUMNS}
#: The columns of the template: a file of these only is created in one ``create``.
KNOWN_COLUMNS = {*IMPORT_COLUMNS, "name", "signature_date", "mandate_type", "scheme", "state"}


class _ImportFailed(Exception):
    """A file with errors: its answer, after what was made is rolled back."""

    def __init__(self, result):
        super().__init__()
        self.result = result


class SepaMandate(models.Model):
    _inherit = "sepa.mandate"

    converted = fields.Boolean(
        string="Converted",
        readonly=True,
        copy=False,
        help="Taken over from the previous package (imported or converted) after it had "
        "already been collected: its next debit is Recurring (RCUR).",
    )
    import_customer = fields.Char(
        string="Customer",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: the customer, by internal reference, VAT number or exact name.",
    )
    import_account_holder = fields.Char(
        string="Account Holder",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: the name of the holder of the debtor account (when it differs from "
        "the customer).",
    )
    import_iban = fields.Char(
        string="IBAN",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: the debtor's IBAN; the customer's bank account with it is used, or "
        "created.",
    )
    import_bic = fields.Char(
        string="BIC",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: the BIC of the debtor's bank (optional).",
    )
    import_collected_before = fields.Boolean(
        string="Collected Before",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: yes when the previous package already collected under this mandate: "
        "it is imported active and its next debit is Recurring (RCUR).",
    )
    import_last_collection_date = fields.Date(
        string="Last Collection Date",
        compute="_compute_import_columns",
        inverse="_inverse_import_columns",
        help="Import: the collection date of the last debit under this mandate; the "
        "36-month expiry counts from it.",
    )

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    def _compute_import_columns(self):
        """What the import columns say of an existing mandate (an export of mandates can
        be imported again)."""
        for mandate in self:
            bank = mandate.partner_bank_id
            mandate.import_customer = mandate.partner_id.ref or mandate.partner_id.name
            mandate.import_account_holder = bank.acc_holder_name or False
            mandate.import_iban = bank.acc_number or False
            mandate.import_bic = mandate.debtor_bic or False
            mandate.import_collected_before = bool(
                mandate.last_debit_date or mandate.converted)
            mandate.import_last_collection_date = mandate.last_debit_date

    # ------------------------------------------------------------------
    # INVERSE
    # ------------------------------------------------------------------

    def _inverse_import_columns(self):
        # ``load`` turns these columns into the mandate's fields before anything is
        # written: reaching here means someone wrote them directly.
        raise UserError(_(
            "Customer, IBAN, BIC, account holder, collected before and last collection "
            "date are import columns: fill them by importing a file (Favorites, Import "
            "records); on a mandate, choose its debtor and bank account."))

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    @api.model
    def get_import_templates(self):
        return [{
            "label": _("Import Template for SEPA Mandates"),
            "template": "/sepa_direct_debit/static/xls/sepa_mandate_import.csv",
        }]

    @api.model
    def load(self, fields, data):
        if not set(fields) & set(IMPORT_COLUMNS):
            return super().load(fields, data)
        limit = self.env.context.get("_import_limit")
        if limit:
            data = data[:limit]
        # nothing of a failing file is kept: the bank accounts made before the mandates
        # go as well (the standard load only rolls back its own work)
        try:
            with self.env.cr.savepoint():
                result = self._sepa_import_load(fields, data)
                if not result["ids"]:
                    raise _ImportFailed(result)
        except _ImportFailed as failed:
            self.env.invalidate_all(flush=False)
            self.pool.reset_changes()
            result = failed.result
        return result

    @api.model
    def _sepa_import_load(self, fields, data):
        rows = [dict(zip(fields, row, strict=False)) for row in data]
        messages, resolved = self._sepa_import_check(fields, rows)
        if not messages:
            messages, banks = self._sepa_import_bank_accounts(resolved)
        if messages:
            return {"ids": False, "messages": messages, "nextrow": 0}
        for values in resolved:
            values["partner_bank_id"] = banks[values["bank_key"]] if values["bank_key"] \
                else False
        ids = None
        if set(fields) <= KNOWN_COLUMNS:
            ids = self._sepa_import_create(resolved)
        if ids is None:  # other columns, or a row the checks let through failed
            result = self._sepa_import_standard_load(fields, data, resolved)
        else:
            # as the standard load: the next row when a batch limit cut the file
            limit = self.env.context.get("_import_limit")
            result = {"ids": ids, "messages": [],
                      "nextrow": len(data) if limit and len(data) >= limit else 0}
        if result["ids"]:
            imported = self.browse(result["ids"])
            imported._sepa_close_replaced_drafts()
            imported._sepa_import_collect_customers()
        return result

    @api.model
    def _sepa_import_create(self, resolved):
        """The mandates of a file of the template's columns, in one ``create`` (the
        standard ``load`` reads each customer and bank account back by id, two queries
        a row). No "created" note in each one's chatter, nor the importing user as its
        follower: 10,000 mandates are one import. ``None`` when it fails: the standard
        ``load`` then names the rows."""
        try:
            with self.env.cr.savepoint():
                mandates = self.with_context(
                    mail_create_nolog=True, mail_create_nosubscribe=True,
                ).create([{
                    "partner_id": values["partner_id"],
                    "partner_bank_id": values["partner_bank_id"],
                    "name": values["name"] or "/",
                    "signature_date": values["signature_date"] or False,
                    "mandate_type": values["mandate_type"],
                    "scheme": values["scheme"],
                    "state": values["state"],
                    "last_debit_date": values["last_debit_date"] or False,
                    "sequence_type_override": values["collected"] and "recurring",
                    "converted": values["collected"],
                } for values in resolved])
                mandates.flush_recordset()
        except (UserError, psycopg2.Error) as exc:
            _logger.info("Mandate import: one create failed (%s), row by row now", exc)
            self.env.invalidate_all(flush=False)
            return None
        return mandates.ids

    @api.model
    def _sepa_import_standard_load(self, fields, data, resolved):
        """The standard ``load`` on the rows with the import columns turned into the
        mandate's fields."""
        kept = [index for index, name in enumerate(fields) if name not in IMPORT_COLUMNS
                and name.split("/")[0] not in RESOLVED_NAMES]
        new_fields = [fields[index] for index in kept] + list(RESOLVED_COLUMNS)
        new_data = [
            [row[index] for index in kept] + [
                values["mandate_type"],
                values["scheme"],
                str(values["partner_id"]),
                str(values["partner_bank_id"] or ""),
                values["state"],
                values["last_debit_date"] or "",
                "recurring" if values["collected"] else "",
                "1" if values["collected"] else "0",
            ]
            for row, values in zip(data, resolved, strict=True)
        ]
        return super().load(new_fields, new_data)

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _sepa_close_replaced_drafts(self):
        """These active recurring mandates were taken over (imported or converted): the
        mandates to sign their customers got when marked "Collect by Direct Debit" are
        closed, each with a note naming the mandate that replaces it (one search, one
        write, one batch of notes)."""
        taken_over = self.filtered(
            lambda m: m.state == "active" and m.mandate_type == "recurring")
        if not taken_over:
            return
        drafts = self.search([
            ("partner_id", "in", taken_over.partner_id.ids), ("id", "not in", self.ids),
            ("mandate_type", "=", "recurring"), ("state", "=", "draft")])
        if not drafts:
            return
        by_partner = {mandate.partner_id.id: mandate for mandate in taken_over}
        drafts.write({"state": "closed"})
        self.env["mail.message"]._sepa_log(drafts, {draft.id: [("mandate_closed_replaced", {
            "mandate": {"link": ["sepa.mandate", by_partner[draft.partner_id.id].id,
                                 by_partner[draft.partner_id.id].name]}})]
            for draft in drafts})

    def _sepa_import_collect_customers(self):
        """Customers of imported active or to-sign recurring mandates are collected by
        direct debit from now on (one write; they keep these mandates). As the system:
        whoever may create the mandates may say so, also without the right to edit
        contacts (a billing user)."""
        partners = self.filtered(
            lambda m: m.mandate_type == "recurring" and m.state in ("draft", "active")
        ).partner_id.sudo().filtered(lambda p: not p.sepa_collect)
        if partners:
            partners.write({"sepa_collect": True})

    @api.model
    def _sepa_import_error(self, index, fname, message):
        """One row error of the import: the row as the spreadsheet numbers it and the
        column in the user's terms, attached to that column in the import dialog."""
        label = self._fields[fname]._description_string(self.env)
        row = index + self.env.context.get("sepa_import_row_offset", 1)
        return {
            "type": "error",
            "record": index,
            "rows": {"from": index, "to": index},
            "field": fname,
            "field_name": label,
            "message": _("Row %(row)s, %(column)s: %(problem)s",
                         row=row, column=label, problem=message),
        }

    @api.model
    def _sepa_import_selection(self, fname, raw, default):
        """The value of selection ``fname`` a cell names (its value or its label, in
        English or the user's language, any case); None when it names none."""
        raw = (raw or "").strip()
        if not raw:
            return default
        return self._sepa_import_options(fname).get(raw.lower())

    @api.model
    @tools.ormcache("fname", "self.env.lang")
    def _sepa_import_options(self, fname):
        """``{value or label in lower case: value}`` of selection ``fname``."""
        field = self._fields[fname]
        options = {}
        for value, label in field._description_selection(self.env) + list(
                field.get_description(self.with_context(lang="en_US").env)["selection"]):
            options[value.lower()] = value
            options[str(label).lower()] = value
        return options

    @api.model
    def _sepa_import_date(self, raw):
        """The date of a cell (ISO, as the import dialog hands it), False when empty,
        None when it is no date."""
        raw = (raw or "").strip()
        if not raw:
            return False
        try:
            return fields.Date.to_date(raw[:10])
        except ValueError:
            return None

    @api.model
    def _sepa_import_customers(self, keys):
        """``{cell: [commercial partner ids]}``: the customers each cell names, by
        internal reference, else VAT number, else exact name (one search). Customers of
        the importing company or of none."""
        keys = {key for key in keys if key}
        if not keys:
            return {}
        vats = {key.replace(" ", "").replace(".", "").upper() for key in keys}
        partners = self.env["res.partner"].with_context(active_test=True).search_fetch([
            ("company_id", "in", [False, self.env.company.id]),
            "|", "|", ("ref", "in", list(keys)), ("vat", "in", list(vats | keys)),
            ("name", "in", list(keys)),
        ], ["ref", "vat", "name", "commercial_partner_id"])
        by = {"ref": defaultdict(set), "vat": defaultdict(set), "name": defaultdict(set)}
        for partner in partners:
            commercial = partner.commercial_partner_id.id
            if partner.ref:
                by["ref"][partner.ref].add(commercial)
            if partner.vat:
                by["vat"][partner.vat.replace(" ", "").replace(".", "").upper()].add(
                    commercial)
            by["name"][partner.name].add(commercial)
        found = {}
        for key in keys:
            vat = key.replace(" ", "").replace(".", "").upper()
            found[key] = sorted(by["ref"].get(key) or by["vat"].get(vat)
                                or by["name"].get(key) or ())
        return found

    @api.model
    def _sepa_import_check(self, columns, rows):
        """Check every row; ``(messages, resolved)``: the row errors (all of them), and
        per row the values ``load`` writes (customer, bank account key, state, last
        collection date, collected before)."""
        if "import_customer" not in columns:
            return [{"type": "error", "message": _(
                "The file has no Customer column: each mandate needs its customer (by "
                "reference, VAT number or name).")}], []
        references = [(row.get("name") or "").strip() for row in rows]
        known = {
            "today": fields.Date.context_today(self),
            "customers": self._sepa_import_customers(
                (row.get("import_customer") or "").strip() for row in rows),
            "taken": set(self.search_fetch([
                ("company_id", "=", self.env.company.id),
                ("name", "in", [ref for ref in references if ref]),
            ], ["name"]).mapped("name")),
            "seen": {},
            "booleans": {},
        }
        messages, resolved = [], []
        for index, row in enumerate(rows):
            errors, values = [], {"bank_key": False}
            for check in (self._sepa_import_check_customer,
                          self._sepa_import_check_reference,
                          self._sepa_import_check_history,
                          self._sepa_import_check_account):
                errors += check(index, row, values, known)
            messages += errors
            resolved.append(None if errors else values)
        return messages, resolved

    @api.model
    def _sepa_import_check_customer(self, index, row, values, known):
        key = (row.get("import_customer") or "").strip()
        matches = known["customers"].get(key, [])
        if not key:
            problem = _("the customer is missing")
        elif not matches:
            problem = _("no customer has the reference, VAT number or name %(customer)s",
                        customer=key)
        elif len(matches) > 1:
            problem = _("%(customer)s names %(count)s customers: use their reference",
                        customer=key, count=len(matches))
        else:
            values["partner_id"] = matches[0]
            return []
        return [self._sepa_import_error(index, "import_customer", problem)]

    @api.model
    def _sepa_import_check_reference(self, index, row, values, known):
        reference = values["name"] = (row.get("name") or "").strip()
        if not reference or reference == "/":
            return []
        try:
            check_identifier(reference, "MndtId", max_len=35)
        except SepaError as exc:
            problem = _("the mandate reference %(reference)s is not valid: %(reason)s",
                        reference=reference, reason=exc)
        else:
            seen = known["seen"]
            problem = None
            if reference in known["taken"]:
                problem = _("a mandate with reference %(reference)s already exists",
                            reference=reference)
            elif reference in seen:
                problem = _("reference %(reference)s is also on row %(other)s",
                            reference=reference, other=seen[reference]
                            + self.env.context.get("sepa_import_row_offset", 1))
            seen.setdefault(reference, index)
            if not problem:
                return []
        return [self._sepa_import_error(index, "name", problem)]

    @api.model
    def _sepa_import_check_history(self, index, row, values, known):
        """Type, scheme, dates, collected before and state (they depend on each
        other)."""
        error = self._sepa_import_error
        errors = []
        # type and scheme: checked here so that every error comes at once
        for fname, default in (("mandate_type", "recurring"), ("scheme", "CORE")):
            values[fname] = self._sepa_import_selection(fname, row.get(fname), default)
            if values[fname] is None:
                errors.append(error(index, fname, _(
                    "%(value)s is none of the choices", value=row.get(fname))))
        signature, last = self._sepa_import_check_dates(index, row, known, errors)
        collected, problem = self._sepa_import_collected(row, last, known)
        if problem:
            errors.append(error(index, "import_collected_before", problem))
        if collected and last is False:
            errors.append(error(index, "import_last_collection_date", _(
                "a mandate collected before needs the date it was last collected (the "
                "36-month expiry counts from it)")))
        state, problem = self._sepa_import_state(row, collected, values["mandate_type"])
        if problem:
            errors.append(error(index, "state", problem))
        if state == "active" and signature is False:
            errors.append(error(index, "signature_date", _(
                "an active mandate needs its signature date")))
        values.update({"state": state, "collected": collected, "signature_date": signature,
                       "last_debit_date": last and fields.Date.to_string(last)})
        return errors

    @api.model
    def _sepa_import_check_dates(self, index, row, known, errors):
        """``(signature date, last collection date)`` of a row (None: not a date),
        their errors added to ``errors``."""
        error = self._sepa_import_error
        signature = self._sepa_import_date(row.get("signature_date"))
        last = self._sepa_import_date(row.get("import_last_collection_date"))
        if signature is None:
            errors.append(error(index, "signature_date", _("not a date")))
        elif signature and signature > known["today"]:
            errors.append(error(index, "signature_date", _(
                "the signature date %(date)s is in the future", date=signature)))
        if last is None:
            errors.append(error(index, "import_last_collection_date", _("not a date")))
        elif last and last > known["today"]:
            errors.append(error(index, "import_last_collection_date", _(
                "the last collection date %(date)s is in the future", date=last)))
        elif last and signature and last < signature:
            errors.append(error(index, "import_last_collection_date", _(
                "the last collection date %(date)s is before the signature date",
                date=last)))
        return signature, last

    @api.model
    def _sepa_import_state(self, row, collected, mandate_type):
        """``(state, problem)`` of a row: the column's, else active when collected
        before, else to sign."""
        state = self._sepa_import_selection(
            "state", row.get("state"), "active" if collected else "draft")
        if state is None:
            return state, _("%(value)s is none of the choices", value=row.get("state"))
        if collected and state == "draft":
            return state, _("a mandate collected before was signed: it cannot be to sign")
        if collected and state == "active" and mandate_type == "one_off":
            return state, _("a one-off mandate collected before is used up: it cannot "
                            "be active")
        return state, None

    @api.model
    def _sepa_import_collected(self, row, last, known):
        """``(collected before, problem)`` of a row: the column's yes or no, else
        whether a last collection date is given."""
        raw = (row.get("import_collected_before") or "").strip()
        if not raw:
            return bool(last), None
        booleans = known["booleans"]
        if raw not in booleans:
            booleans[raw] = self.env["ir.fields.converter"]._str_to_boolean(
                self, self._fields["import_collected_before"], raw)
        collected, warnings = booleans[raw]
        if warnings:
            return False, _("%(value)s is neither yes nor no", value=raw)
        if not collected and last:
            return False, _("no, but a last collection date is given")
        return collected, None

    @api.model
    def _sepa_import_check_account(self, index, row, values, known):
        errors = []
        iban = "".join((row.get("import_iban") or "").split()).upper()
        if iban:
            try:
                iban = validate_iban(iban)
            except SepaError as exc:
                errors.append(self._sepa_import_error(index, "import_iban", _(
                    "%(iban)s is not a valid IBAN: %(reason)s",
                    iban=row.get("import_iban"), reason=exc)))
        elif values.get("state") == "active":
            errors.append(self._sepa_import_error(index, "import_iban", _(
                "an active mandate needs the debtor's IBAN")))
        bic = (row.get("import_bic") or "").strip()
        if bic:
            try:
                bic = validate_bic(bic)
            except SepaError as exc:
                errors.append(self._sepa_import_error(index, "import_bic", _(
                    "%(bic)s is not a valid BIC: %(reason)s", bic=bic, reason=exc)))
        values.update({
            "iban": iban,
            "bic": bic,
            "holder": (row.get("import_account_holder") or "").strip(),
            "bank_key": iban and values.get("partner_id") and (values["partner_id"], iban),
        })
        return errors

    @api.model
    def _sepa_import_bank_accounts(self, resolved):
        """``(messages, {(customer id, IBAN): bank account id})``: the customers' bank
        accounts with these IBANs, the missing ones created (one search, one create);
        banks found by BIC, the unknown ones created."""
        wanted = {}
        for values in resolved:
            if values["bank_key"]:
                wanted.setdefault(values["bank_key"], values)
        if not wanted:
            return [], {}
        Bank = self.env["res.partner.bank"]
        accounts = Bank.search_fetch([
            ("sanitized_acc_number", "in", list({key[1] for key in wanted})),
            ("partner_id.commercial_partner_id", "in", list({key[0] for key in wanted})),
        ], ["sanitized_acc_number", "partner_id"])
        found = {}
        for account in accounts:
            key = (account.partner_id.commercial_partner_id.id, account.sanitized_acc_number)
            # the commercial entity's own account first
            if key not in found or account.partner_id.id == key[0]:
                found[key] = account.id
        missing = [key for key in wanted if key not in found]
        if not missing:
            return [], found
        try:
            Bank.check_access("create")
        except AccessError:
            return [{"type": "error", "message": _(
                "%(count)s IBANs of the file are not yet bank accounts of their customers, "
                "and you may not add bank accounts (ask for the Contact Creation right).",
                count=len(missing))}], {}
        bics = {wanted[key]["bic"] for key in missing if wanted[key]["bic"]}
        banks = {}
        if bics:
            banks = {bank.bic: bank.id for bank in self.env["res.bank"].search_fetch(
                [("bic", "in", list(bics))], ["bic"])}
            new = sorted(bics - set(banks))
            if new:
                created = self.env["res.bank"].create([{"name": bic, "bic": bic}
                                                       for bic in new])
                banks.update(zip(new, created.ids, strict=True))
        # One INSERT instead of Odoo's create, which logs "Bank Account created" in each
        # customer's chatter, one message at a time (three quarters of the time of an
        # import of new accounts); what that create does besides is done here: the IBAN
        # written as Odoo writes it, no outgoing payments to it until validated.
        created = insert_records(Bank, [{
            "partner_id": key[0],
            "acc_number": pretty_iban(key[1]),
            "sanitized_acc_number": key[1],
            "acc_holder_name": wanted[key]["holder"] or False,
            "bank_id": banks.get(wanted[key]["bic"], False),
            "allow_out_payment": False,
        } for key in missing])
        found.update(zip(missing, created.ids, strict=True))
        return [], found

