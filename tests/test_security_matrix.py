"""The access matrix of README.rst (Configure), checked cell by cell with real users.

Every cell is tried on a record of the user's company A and on one of company B, as
the user would over RPC, in a savepoint that is rolled back afterwards. A refused
attempt raises (so its transaction is rolled back), leaves the database as it was and
names nothing of company B (nor, to users outside the Direct Debit group, an IBAN).
"""
import base64
import json
from datetime import timedelta
from pathlib import Path

import psycopg2

from odoo import Command, fields
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import IBAN_A, IBAN_B
from .security_common import IBAN_SECRET_B, SepaTwoCompaniesCommon, return_file

#: ``A``: allowed on company A's records only; ``A+B``: on both companies' records;
#: ``-``: on neither; ``n/a``: not an operation on such records. The same table is in
#: README.rst, which the test checks.
MATRIX = """\
======================  =========  ====  ======  ==========  ======  =====  ======  ======
Records                 User       read  search  read_group  create  write  unlink  export
======================  =========  ====  ======  ==========  ======  =====  ======  ======
Mandates                internal   -     -       -           -       -      -       -
Mandates                billing    A     A       A           A       A      -       A
Mandates                manager    A     A       A           A       A      A       A
Mandates                portal     -     -       -           -       -      -       -
Mandates                A+B, A on  A     A       A           A       A      -       A
Creditor identifiers    internal   -     -       -           -       -      -       -
Creditor identifiers    billing    A     A       A           -       -      -       A
Creditor identifiers    manager    A     A       A           A       A      A       A
Creditor identifiers    portal     -     -       -           -       -      -       -
Creditor identifiers    A+B, A on  A     A       A           -       -      -       A
Batches                 internal   -     -       -           -       -      -       -
Batches                 billing    A     A       A           A       A      -       A
Batches                 manager    A     A       A           A       A      A       A
Batches                 portal     -     -       -           -       -      -       -
Batches                 A+B, A on  A     A       A           A       A      -       A
Batch lines             internal   -     -       -           -       -      -       -
Batch lines             billing    A     A       A           A       A      -       A
Batch lines             manager    A     A       A           A       A      A       A
Batch lines             portal     -     -       -           -       -      -       -
Batch lines             A+B, A on  A     A       A           A       A      -       A
Proposals               internal   -     -       -           -       -      -       -
Proposals               billing    A     A       A           A       A      A       A
Proposals               manager    A     A       A           A       A      A       A
Proposals               portal     -     -       -           -       -      -       -
Proposals               A+B, A on  A     A       A           A       A      A       A
Proposal lines          internal   -     -       -           -       -      -       -
Proposal lines          billing    A     A       A           A       A      A       A
Proposal lines          manager    A     A       A           A       A      A       A
Proposal lines          portal     -     -       -           -       -      -       -
Proposal lines          A+B, A on  A     A       A           A       A      A       A
Failed debits           internal   -     -       -           -       -      -       -
Failed debits           billing    A     A       A           A       A      -       A
Failed debits           manager    A     A       A           A       A      A       A
Failed debits           portal     -     -       -           -       -      -       -
Failed debits           A+B, A on  A     A       A           A       A      -       A
Storno analysis         internal   -     -       -           -       -      -       -
Storno analysis         billing    A     A       A           -       -      -       A
Storno analysis         manager    A     A       A           -       -      -       A
Storno analysis         portal     -     -       -           -       -      -       -
Storno analysis         A+B, A on  A     A       A           -       -      -       A
Debited bank accounts   internal   -     -       -           n/a     -      -       -
Debited bank accounts   billing    A     A       A           n/a     A      -       A
Debited bank accounts   manager    A     A       A           n/a     A      -       A
Debited bank accounts   portal     -     -       -           n/a     -      -       -
Debited bank accounts   A+B, A on  A     A       A           n/a     A      -       A
Batch file attachments  internal   -     -       -           -       -      -       -
Batch file attachments  billing    A     A       A           A       A      A       A
Batch file attachments  manager    A     A       A           A       A      A       A
Batch file attachments  portal     -     -       -           -       -      -       -
Batch file attachments  A+B, A on  A     A       A           A       A      A       A
Batch chatter messages  internal   -     -       -           -       -      -       -
Batch chatter messages  billing    A     A       A           A       A      A       -
Batch chatter messages  manager    A     A       A           A       A      A       -
Batch chatter messages  portal     -     -       -           -       -      -       -
Batch chatter messages  A+B, A on  A     A       A           A       A      A       -
Return imports          internal   -     -       -           -       -      -       -
Return imports          billing    A     A       A           A       A      A       A
Return imports          manager    A     A       A           A       A      A       A
Return imports          portal     -     -       -           -       -      -       -
Return imports          A+B, A on  A     A       A           A       A      A       A
Return import lines     internal   -     -       -           -       -      -       -
Return import lines     billing    A     A       A           A       A      A       A
Return import lines     manager    A     A       A           A       A      A       A
Return import lines     portal     -     -       -           -       -      -       -
Return import lines     A+B, A on  A     A       A           A       A      A       A
Imported return files   internal   -     -       -           -       -      -       -
Imported return files   billing    A     A       A           A       A      A       A
Imported return files   manager    A     A       A           A       A      A       A
Imported return files   portal     -     -       -           -       -      -       -
Imported return files   A+B, A on  A     A       A           A       A      A       A
Controls                internal   -     -       -           -       -      -       -
Controls                billing    A     A       A           A       A      A       A
Controls                manager    A     A       A           A       A      A       A
Controls                portal     -     -       -           -       -      -       -
Controls                A+B, A on  A     A       A           A       A      A       A
Control lines           internal   -     -       -           -       -      -       -
Control lines           billing    A     A       A           A       A      A       A
Control lines           manager    A     A       A           A       A      A       A
Control lines           portal     -     -       -           -       -      -       -
Control lines           A+B, A on  A     A       A           A       A      A       A
Storno registrations    internal   -     -       -           -       -      -       -
Storno registrations    billing    A     A       A           A       A      A       A
Storno registrations    manager    A     A       A           A       A      A       A
Storno registrations    portal     -     -       -           -       -      -       -
Storno registrations    A+B, A on  A     A       A           A       A      A       A
Mandate revocations     internal   -     -       -           -       -      -       -
Mandate revocations     billing    A     A       A           A       A      A       A
Mandate revocations     manager    A     A       A           A       A      A       A
Mandate revocations     portal     -     -       -           -       -      -       -
Mandate revocations     A+B, A on  A     A       A           A       A      A       A
Mandate reactivations   internal   -     -       -           -       -      -       -
Mandate reactivations   billing    A     A       A           A       A      A       A
Mandate reactivations   manager    A     A       A           A       A      A       A
Mandate reactivations   portal     -     -       -           -       -      -       -
Mandate reactivations   A+B, A on  A     A       A           A       A      A       A
Failed debit releases   internal   -     -       -           -       -      -       -
Failed debit releases   billing    A     A       A           A       A      A       A
Failed debit releases   manager    A     A       A           A       A      A       A
Failed debit releases   portal     -     -       -           -       -      -       -
Failed debit releases   A+B, A on  A     A       A           A       A      A       A
Bank credits            internal   -     -       -           -       -      -       -
Bank credits            billing    A     A       A           A       A      A       A
Bank credits            manager    A     A       A           A       A      A       A
Bank credits            portal     -     -       -           -       -      -       -
Bank credits            A+B, A on  A     A       A           A       A      A       A
======================  =========  ====  ======  ==========  ======  =====  ======  ======
"""

ROLES = {"internal": "plain", "billing": "billing", "manager": "manager",
         "portal": "portal", "A+B, A on": "multi"}
OPERATIONS = ("read", "search", "read_group", "create", "write", "unlink", "export")
#: The tables a refused attempt must leave as they were.
TABLES = ("sepa_mandate", "sepa_batch", "sepa_batch_line", "sepa_batch_proposal",
          "sepa_batch_proposal_line", "res_partner_bank", "ir_attachment", "mail_message",
          "sepa_storno", "sepa_return_import", "sepa_return_import_line", "sepa_control",
          "sepa_control_line", "sepa_storno_register", "sepa_mandate_revoke",
          "sepa_mandate_reactivate", "sepa_storno_release", "sepa_bank_credit",
          "account_bank_statement_line")



def parse_table(text):
    """``{(records, user): {operation: cell}}`` of an RST simple table."""
    lines = text.strip().splitlines()
    border = lines[0]
    spans, start = [], None
    for index, char in enumerate(border + " "):
        if char == "=" and start is None:
            start = index
        elif char != "=" and start is not None:
            spans.append((start, index if index < len(border) else None))
            start = None
    rows = [[line[a:b].strip() for a, b in spans] for line in lines if line != border]
    header, body = rows[0], rows[1:]
    return {(row[0], row[1]): dict(zip(header[2:], row[2:], strict=True)) for row in body}


class _Undo(Exception):
    """Rolls back an attempt that succeeded."""


@tagged("post_install", "-at_install")
class TestSecurityMatrix(SepaTwoCompaniesCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.draft_mandate_a = cls.create_mandate()
        cls.draft_mandate_b = cls.Mandate.create({
            "partner_id": cls.debtor_b.id, "partner_bank_id": cls.bank_b.id,
            "company_id": cls.company_b.id, "signature_date": "2025-01-15"})
        # an unused creditor per company, to delete
        cls.spare_creditors = {company.id: cls.env["sepa.creditor"].create({
            "name": "Spare", "identifier": identifier, "company_id": company.id,
            "sequence": 99}) for company, identifier in (
                (cls.company_a, "NL93ZZZ111111110000"), (cls.company_b, "NL67ZZZ222222220000"))}
        cls.message_a = cls.batch_a.message_post(body="Delivered to the bank by hand")
        cls.message_b = cls.batch_b.message_post(body="Delivered to the bank by hand")
        cls.stornos = {company.id: cls.env["sepa.storno"].sudo().with_company(
            company).register_unmatched([{
                "end_to_end_id": f"UNKNOWN-{company.id}", "amount": 10.0,
                "reason_code": "AM04", "kind": "return", "company_id": company.id}])
            for company in (cls.company_a, cls.company_b)}
        # the storno analysis shows the debits of sent batches
        cls.sent_batches = {company.id: cls.make_sent_batch(company, journal, partner)
                            for company, journal, partner in (
                                (cls.company_a, cls.bank_journal, cls.recurring_partner),
                                (cls.company_b, cls.bank_journal_b, cls.debtor_b))}
        cls.reason = cls.env["sepa.return.reason"].search([("code", "=", "AM04")])
        cls.proposals = {(role, "A"): cls.make_proposal(user, cls.company_a, cls.bank_journal)
                         for role, user in cls.users.items()}
        proposal_b = cls.make_proposal(cls.user_b, cls.company_b, cls.bank_journal_b)
        cls.proposals.update({(role, "B"): proposal_b for role in cls.users})
        cls.wizards = {(role, "A"): cls.make_wizards(user, cls.company_a)
                       for role, user in cls.users.items()}
        wizards_b = cls.make_wizards(cls.user_b, cls.company_b)
        cls.wizards.update({(role, "B"): wizards_b for role in cls.users})

    @classmethod
    def make_sent_batch(cls, company, journal, partner):
        """A batch of one invoice of ``partner``, generated and sent."""
        invoice = cls.invoice(partner, 40.0, company=company)
        wizard = cls.env["sepa.batch.proposal"].with_company(company).create({
            "company_id": company.id, "journal_id": journal.id,
            "invoice_ids": [(6, 0, invoice.ids)]})
        wizard.action_propose()
        batch = cls.env["sepa.batch"].with_company(company).browse(
            wizard.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        return batch

    @classmethod
    def make_proposal(cls, user, company, journal):
        """A proposal of ``company`` opened by ``user`` (whatever their rights)."""
        proposal = cls.env["sepa.batch.proposal"].with_user(user).sudo().create({
            "company_id": company.id, "journal_id": journal.id})
        proposal.action_propose()
        return cls.env["sepa.batch.proposal"].browse(proposal.id)

    @classmethod
    def make_wizards(cls, user, company):
        """The wizards of ``company`` opened by ``user`` (whatever their rights):
        a previewed return file import (its file kept as an attachment) with a line, a
        control with a line, a storno registration, a mandate revocation and
        reactivation, a failed debit release, a bank credit registration."""
        env = cls.env(user=user, su=True, context={"allowed_company_ids": company.ids})
        if company == cls.company_b:
            name, iban, journal, mandate = ("Geheime Klant B", IBAN_SECRET_B, cls.bank_journal_b,
                                            cls.mandate_b)
        else:
            name, iban, journal, mandate = ("Klant A", IBAN_A, cls.bank_journal,
                                            cls.mandate_recurring)
        account = journal.bank_account_id.sanitized_acc_number
        wizard = env["sepa.return.import"].create({
            "company_id": company.id, "filename": "returns.xml",
            "data_file": base64.b64encode(return_file(account, name, iban))})
        line = env["sepa.return.import.line"].create({
            "import_id": wizard.id, "status": "unmatched", "kind": "return",
            "end_to_end_id": "UNKNOWN-1", "note": "Matrix",
            "raw_data": json.dumps({"debtor_name": name, "debtor_iban": iban})})
        control = env["sepa.control"].create({"company_id": company.id})
        control_line = env["sepa.control.line"].create({
            "control_id": control.id, "storno_id": cls.stornos[company.id].id,
            "release": "hold", "hold_note": "Matrix"})
        mandate = [Command.set(mandate.ids)]
        return {
            "import": wizard.with_env(cls.env), "import_line": line.with_env(cls.env),
            "control": control.with_env(cls.env),
            "control_line": control_line.with_env(cls.env),
            "register": env["sepa.storno.register"].create({
                "batch_line_id": cls.sent_batches[company.id].line_ids[0].id,
                "reason_id": cls.reason.id, "kind": "return"}).with_env(cls.env),
            "revoke": env["sepa.mandate.revoke"].create({
                "mandate_ids": mandate, "revocation_reason": "Matrix"}).with_env(cls.env),
            "reactivate": env["sepa.mandate.reactivate"].create({
                "mandate_ids": mandate}).with_env(cls.env),
            "release": env["sepa.storno.release"].create({
                "storno_ids": [Command.set(cls.stornos[company.id].ids)],
                "note": "Matrix"}).with_env(cls.env),
            "credit": env["sepa.bank.credit"].create({
                "batch_id": cls.sent_batches[company.id].id,
                "bank_reference": "Matrix"}).with_env(cls.env),
        }

    # ------------------------------------------------------------------
    # what each row is made of, for company "A" or "B"
    # ------------------------------------------------------------------

    def of(self, company):
        return {"A": self.company_data_a(), "B": self.company_data_b()}[company]

    def company_data_a(self):
        return {
            "company": self.company_a, "journal": self.bank_journal, "batch": self.batch_a,
            "draft_batch": self.draft_batch_a, "invoice": self.invoices_a[2],
            "partner": self.recurring_partner, "mandate": self.mandate_recurring,
            "draft_mandate": self.draft_mandate_a, "message": self.message_a,
        }

    def company_data_b(self):
        return {
            "company": self.company_b, "journal": self.bank_journal_b, "batch": self.batch_b,
            "draft_batch": self.draft_batch_b, "invoice": self.invoices_b[2],
            "partner": self.debtor_b, "mandate": self.mandate_b,
            "draft_mandate": self.draft_mandate_b, "message": self.message_b,
        }

    def subject(self, records, role, company):
        """``(model, records, field, create values, write values, records to unlink)``;
        only the row asked for is made (its records may take a search)."""
        data = self.of(company)
        proposal = self.proposals[(role, company)].sudo()
        line_vals = {"invoice_id": data["invoice"].id, "partner_id": data["partner"].id,
                     "mandate_id": data["mandate"].id, "amount": 1.0}

        def file_attachment():
            attachment = self.env["ir.attachment"].sudo().search([
                ("res_model", "=", "sepa.batch"), ("res_id", "=", data["batch"].id),
                ("res_field", "=", "file")])
            return ("ir.attachment", attachment, "name",
                    {"name": "note.txt", "res_model": "sepa.batch", "res_id": data["batch"].id,
                     "raw": b"note"},
                    {"description": "Matrix"}, attachment)

        def storno_analysis():
            rows = self.env["sepa.storno.report"].search(
                [("batch_id", "=", self.sent_batches[data["company"].id].id)])
            return ("sepa.storno.report", rows, "end_to_end_id",
                    {"end_to_end_id": "Matrix"}, {"end_to_end_id": "Matrix"}, rows)

        wizards = self.wizards[(role, company)]

        def import_attachment():
            attachment = self.env["ir.attachment"].sudo().search([
                ("res_model", "=", "sepa.return.import"), ("res_id", "=", wizards["import"].id),
                ("res_field", "=", "data_file")])
            return ("ir.attachment", attachment, "name",
                    {"name": "note.txt", "res_model": "sepa.return.import",
                     "res_id": wizards["import"].id, "raw": b"note"},
                    {"description": "Matrix"}, attachment)

        def wizard_row(model, key, field, create_vals, write_vals):
            return (model, wizards[key], field, create_vals, write_vals, wizards[key])

        mandate = [Command.set(data["mandate"].ids)]
        subjects = {
            "Return imports": lambda: wizard_row(
                "sepa.return.import", "import", "filename",
                {"company_id": data["company"].id, "filename": "new.xml",
                 "data_file": base64.b64encode(b"<Document/>")}, {"filename": "Matrix"}),
            "Return import lines": lambda: wizard_row(
                "sepa.return.import.line", "import_line", "note",
                {"import_id": wizards["import"].id, "status": "unmatched", "kind": "return"},
                {"note": "Matrix 2"}),
            "Imported return files": import_attachment,
            "Controls": lambda: wizard_row(
                "sepa.control", "control", "processed", {"company_id": data["company"].id},
                {"processed": True}),
            "Control lines": lambda: wizard_row(
                "sepa.control.line", "control_line", "hold_note",
                {"control_id": wizards["control"].id,
                 "storno_id": self.stornos[data["company"].id].id, "release": "hold"},
                {"hold_note": "Matrix 2"}),
            "Storno registrations": lambda: wizard_row(
                "sepa.storno.register", "register", "kind",
                {"batch_line_id": self.sent_batches[data["company"].id].line_ids[0].id,
                 "reason_id": self.reason.id, "kind": "return"}, {"charge_amount": 1.0}),
            "Mandate revocations": lambda: wizard_row(
                "sepa.mandate.revoke", "revoke", "revocation_reason",
                {"mandate_ids": mandate, "revocation_reason": "Matrix"},
                {"revocation_reason": "Matrix 2"}),
            "Mandate reactivations": lambda: wizard_row(
                "sepa.mandate.reactivate", "reactivate", "signature_date",
                {"mandate_ids": mandate}, {"signature_date": fields.Date.today()}),
            "Failed debit releases": lambda: wizard_row(
                "sepa.storno.release", "release", "note",
                {"storno_ids": [Command.set(self.stornos[data["company"].id].ids)]},
                {"note": "Matrix 2"}),
            "Bank credits": lambda: wizard_row(
                "sepa.bank.credit", "credit", "amount",
                {"batch_id": self.sent_batches[data["company"].id].id},
                {"bank_reference": "Matrix 2"}),
            "Mandates": lambda: (
                "sepa.mandate", data["mandate"], "name",
                {"partner_id": data["partner"].id,
                 "partner_bank_id": data["mandate"].partner_bank_id.id,
                 "company_id": data["company"].id, "signature_date": "2025-01-15"},
                {"revocation_reason": "Matrix"}, data["draft_mandate"]),
            "Creditor identifiers": lambda: (
                "sepa.creditor", data["mandate"].creditor_id, "identifier",
                {"name": "Matrix", "identifier": "NL15ZZZ444444440000",
                 "company_id": data["company"].id},
                {"name": "Matrix"}, self.spare_creditors[data["company"].id]),
            "Batches": lambda: (
                "sepa.batch", data["draft_batch"], "name",
                {"company_id": data["company"].id, "journal_id": data["journal"].id},
                {"batch_booking": False}, data["draft_batch"]),
            "Batch lines": lambda: (
                "sepa.batch.line", data["draft_batch"].line_ids, "end_to_end_id",
                dict(line_vals, batch_id=data["draft_batch"].id, sequence_type="RCUR",
                     collection_date=fields.Date.today(), debit_number=9,
                     end_to_end_id=f"{data['draft_batch'].name}-9"),
                {"remittance": "Matrix"}, data["draft_batch"].line_ids),
            "Proposals": lambda: (
                "sepa.batch.proposal", proposal, "instruction_date",
                {"company_id": data["company"].id, "journal_id": data["journal"].id},
                {"instruction_date": fields.Date.today() + timedelta(days=5)}, proposal),
            "Proposal lines": lambda: (
                "sepa.batch.proposal.line", proposal.line_ids[:1], "amount",
                dict(line_vals, proposal_id=proposal.id), {"selected": False},
                proposal.line_ids[:1]),
            "Failed debits": lambda: (
                "sepa.storno", self.stornos[data["company"].id], "name",
                {"name": "Matrix", "company_id": data["company"].id, "state": "unmatched",
                 "kind": "return"},
                {"hold_note": "Matrix"}, self.stornos[data["company"].id]),
            "Storno analysis": storno_analysis,
            "Debited bank accounts": lambda: (
                "res.partner.bank", data["mandate"].partner_bank_id, "acc_number",
                None, {"acc_holder_name": "Matrix"}, data["mandate"].partner_bank_id),
            "Batch file attachments": file_attachment,
            "Batch chatter messages": lambda: (
                "mail.message", data["message"], "body",
                {"model": "sepa.batch", "res_id": data["batch"].id, "body": "Matrix",
                 "message_type": "comment"},
                {"body": "Matrix"}, data["message"]),
        }
        return subjects[records]()

    # ------------------------------------------------------------------
    # attempts
    # ------------------------------------------------------------------

    def operation(self, env, subject, operation):
        """The call of ``operation`` and how to tell it was allowed from its result."""
        model, records, field, create_vals, write_vals, to_unlink = subject
        Model = env[model]
        calls = {
            "read": (lambda: Model.browse(records.ids).read([field]), lambda _r: True),
            "search": (lambda: Model.search([("id", "in", records.ids)]),
                       lambda found: found.ids == records.ids),
            "read_group": (lambda: Model.read_group([("id", "in", records.ids)], [], []),
                           lambda groups: groups[0]["__count"] == len(records)),
            "create": (lambda: Model.create(create_vals), lambda _r: True),
            "write": (lambda: Model.browse(records.ids).write(write_vals), lambda _r: True),
            "unlink": (lambda: Model.browse(to_unlink.ids).unlink(), lambda _r: True),
            "export": (lambda: Model.browse(records.ids).export_data([field]),
                       lambda data: bool(data["datas"])),
        }
        return calls[operation]

    def fingerprint(self):
        """Rows, last id and last change of each table, in one query."""
        self.env.flush_all()
        return self.env.execute_query(SQL("SELECT %s", SQL(", ").join(
            SQL("(SELECT (count(*), max(id), max(write_date))::text FROM %s)",
                SQL.identifier(table))
            for table in TABLES)))

    def attempt(self, role, records, operation, company):
        """Whether the user of ``role`` may do ``operation`` on the ``records`` row's
        record of ``company``; a refusal is checked for what it leaves and says."""
        env = self.env_of(role)
        subject = self.subject(records, role, company)
        self.assertTrue(subject[1], f"{records} of {company}: no record to try")
        call, allowed = self.operation(env, subject, operation)
        before = self.fingerprint()
        try:
            with self.env.cr.savepoint():
                # a new request: nothing read by the set-up is in the cache
                self.env.invalidate_all()
                result = call()
                self.env.flush_all()
                raise _Undo(allowed(result))
        except _Undo as undo:
            verdict, error = undo.args[0], None
        except (AccessError, UserError, MissingError, psycopg2.Error) as refusal:
            verdict, error = False, refusal
        finally:
            self.env.invalidate_all(flush=False)
        self.assertEqual(self.fingerprint(), before, "the database changed")
        if error is not None:
            self.assertNoSecretOfB(str(error))
            if role in ("plain", "portal"):
                for iban in (IBAN_A, IBAN_B, "NL20 INGB", "NL91 ABNA"):
                    self.assertNotIn(iban, str(error))
        return verdict

    def cell(self, role, records, operation):
        if self.subject(records, role, "A")[3] is None and operation == "create":
            return "n/a"
        own = self.attempt(role, records, operation, "A")
        other = self.attempt(role, records, operation, "B")
        return {(True, True): "A+B", (True, False): "A", (False, False): "-",
                (False, True): "B"}[(own, other)]

    # ------------------------------------------------------------------
    # tests
    # ------------------------------------------------------------------

    def test_bank_credit_of_another_company_refused(self):
        """Register Bank Credit on a sent batch of company B, by a user of A (also one
        of both companies with only A active): refused, nothing written, nothing of B
        named."""
        batch_b = self.sent_batches[self.company_b.id]
        for role in ("billing", "multi"):
            env = self.env_of(role)
            with self.assertRaises(AccessError) as refusal:
                batch_b.with_env(env).action_open_bank_credit()
            self.assertNoSecretOfB(str(refusal.exception))
            wizard = env["sepa.bank.credit"].sudo().create({
                "batch_id": batch_b.id, "amount": 40.0}).sudo(False)
            before = self.fingerprint()
            with self.assertRaisesRegex(UserError, "company you are not working in") as refusal:
                wizard.action_confirm()
            self.assertNoSecretOfB(str(refusal.exception))
            self.env.invalidate_all()
            self.assertEqual(self.fingerprint(), before)
            self.assertEqual(batch_b.state, "sent")

    def test_readme_prints_the_matrix(self):
        readme = (Path(__file__).parents[1] / "README.rst").read_text(encoding="utf-8")
        table = "\n".join("   " + line for line in MATRIX.splitlines())
        self.assertTrue(table in readme, "README.rst does not print the test's matrix")

    def test_access_matrix(self):
        expected = parse_table(MATRIX)
        actual = {
            (records, label): {operation: self.cell(role, records, operation)
                               for operation in OPERATIONS}
            for (records, label) in expected
            for role in [ROLES[label]]
        }
        differences = [
            f"{records} / {label} / {operation}: expected {cells[operation]}, "
            f"got {actual[(records, label)][operation]}"
            for (records, label), cells in expected.items() for operation in OPERATIONS
            if actual[(records, label)][operation] != cells[operation]
        ]
        self.assertFalse(differences, "\n".join(differences))
