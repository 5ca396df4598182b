import base64
import json
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.mail.tools.discuss import Store

from .common import IBAN_A, IBAN_B, SepaCommon
from .security_common import (
    CREDITOR_IBAN_B,
    IBAN_SECRET_B,
    SepaTwoCompaniesCommon,
    return_file,
)


@tagged("post_install", "-at_install")
class TestSecurity(SepaCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mandate = cls.create_active_mandate()
        cls.plain_user = new_test_user(cls.env, login="sepa_plain", groups="base.group_user",
                                       company_id=cls.company.id)
        cls.billing_user = new_test_user(cls.env, login="sepa_billing",
                                         groups="account.group_account_invoice",
                                         company_id=cls.company.id)
        cls.other_bank = cls.env["res.partner.bank"].create({
            "acc_number": IBAN_B,
            "partner_id": cls.env["res.partner"].create({"name": "Employee"}).id,
        })

    def test_accounting_groups_imply_direct_debit_groups(self):
        self.assertTrue(self.billing_user.has_group("sepa_direct_debit.group_sepa_user"))
        self.assertFalse(self.billing_user.has_group("sepa_direct_debit.group_sepa_manager"))
        manager = new_test_user(self.env, login="sepa_mgr", groups="account.group_account_manager")
        self.assertTrue(manager.has_group("sepa_direct_debit.group_sepa_manager"))

    def test_plain_user_cannot_read_mandates_or_debtor_iban(self):
        env = self.env(user=self.plain_user)
        with self.assertRaises(AccessError):
            env["sepa.mandate"].browse(self.mandate.id).read(["name"])
        with self.assertRaises(AccessError):
            env["res.partner.bank"].browse(self.debtor_bank.id).read(["acc_number"])
        self.assertFalse(env["res.partner.bank"].search([("id", "=", self.debtor_bank.id)]))
        # Bank accounts that no mandate debits stay as readable as in standard Odoo.
        self.assertEqual(
            env["res.partner.bank"].browse(self.other_bank.id).acc_number,
            "NL91 ABNA 0417 1643 00")
        self.assertNotIn("sepa_mandate_ids", env["res.partner"].fields_get())

    def test_accounting_user_reads_mandates_and_iban(self):
        env = self.env(user=self.billing_user)
        mandate = env["sepa.mandate"].browse(self.mandate.id)
        self.assertEqual(mandate.debtor_iban, "NL20 INGB 0001 2345 67")
        self.assertEqual(env["res.partner.bank"].browse(self.debtor_bank.id).acc_number,
                         "NL20 INGB 0001 2345 67")

    def test_only_manager_deletes(self):
        draft = self.create_mandate()
        with self.assertRaises(AccessError):
            draft.with_user(self.billing_user).unlink()
        draft.unlink()
        self.assertFalse(draft.exists())

    def test_multi_company_rule(self):
        other = self.setup_other_company()["company"]
        foreign = self.create_mandate(company_id=other.id, partner_bank_id=False)
        env = self.env(user=self.billing_user)
        self.assertFalse(env["sepa.mandate"].search([("id", "=", foreign.id)]))
        with self.assertRaises(AccessError):
            env["sepa.mandate"].browse(foreign.id).read(["name"])
        with self.assertRaises(AccessError):
            env["sepa.mandate"].browse(foreign.id).write({"scheme": "B2B"})


@tagged("post_install", "-at_install")
class TestCompanySeparation(SepaTwoCompaniesCommon):
    """A user of company A cannot collect from, nor look at, company B's customers, nor
    control their failed debits. The batches of the first invoices of A and B are sent,
    each with one failed debit (a return)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stornos = {}
        for company, batch in ((cls.company_a, cls.batch_a), (cls.company_b, cls.batch_b)):
            env = cls.env(context=dict(cls.env.context, allowed_company_ids=company.ids))
            batch.with_env(env).action_send()
            cls.stornos[company] = env["sepa.storno"].register([{
                "batch_line_id": batch.line_ids.id, "reason_code": "AM04", "kind": "return",
                "date": fields.Date.today(), "source": "manual"}])
        cls.storno_a, cls.storno_b = cls.stornos[cls.company_a], cls.stornos[cls.company_b]
        cls.secrets_b.append(cls.storno_b.name)

    def line_vals(self, **values):
        return {
            "batch_id": self.draft_batch_a.id,
            "invoice_id": self.invoices_a[2].id,
            "partner_id": self.recurring_partner.id,
            "mandate_id": self.mandate_recurring.id,
            "amount": 30.0,
            "sequence_type": "RCUR",
            "collection_date": fields.Date.today(),
            "debit_number": 9,
            "end_to_end_id": f"{self.draft_batch_a.name}-9",
            **values,
        }

    def assertRefusedUnchanged(self, call, exception=UserError):
        """``call`` raises ``exception`` naming nothing of company B, and the batches,
        lines and proposal lines are as before."""
        def state():
            self.env.flush_all()
            self.env.cr.execute("""
                SELECT (SELECT count(*) FROM sepa_batch), (SELECT count(*) FROM sepa_batch_line),
                       (SELECT array_agg((id, mandate_id) ORDER BY id) FROM sepa_batch_line),
                       (SELECT array_agg((id, mandate_id) ORDER BY id)
                          FROM sepa_batch_proposal_line)""")
            return self.env.cr.fetchall()
        before = state()
        with self.assertRaises(exception) as caught, self.env.cr.savepoint():
            call()
        self.env.invalidate_all()
        self.assertNoSecretOfB(str(caught.exception))
        self.assertEqual(state(), before)
        return caught.exception

    def test_batch_line_with_other_company_mandate_refused(self):
        Line = self.env_of("billing")["sepa.batch.line"]
        for values in ({"mandate_id": self.mandate_b.id},
                       {"partner_id": self.debtor_b.id, "mandate_id": self.mandate_b.id},
                       {"invoice_id": self.invoices_b[2].id}):
            error = self.assertRefusedUnchanged(lambda v=values: Line.create(self.line_vals(**v)))
            self.assertIn("another company", str(error))
        # the same user, same values, own company: accepted
        self.assertTrue(Line.create(self.line_vals()))

    def test_batch_line_bulk_insert_checks_mandate_and_debtor_company(self):
        """The set-wise path of Create Batch (one INSERT, no ORM create) checks too."""
        Line = self.env_of("billing")["sepa.batch.line"]
        for values in ({"mandate_id": self.mandate_b.id},
                       {"partner_id": self.customer_only_b.id}):
            self.assertRefusedUnchanged(
                lambda v=values: Line._create_guarded([self.line_vals(**v)]))
        self.assertTrue(Line._create_guarded([self.line_vals()]))

    def test_proposal_line_write_other_company_mandate_refused(self):
        env = self.env_of("billing")
        proposal = env["sepa.batch.proposal"].create({"journal_id": self.bank_journal.id})
        proposal.action_propose()
        line = proposal.line_ids.filtered(lambda pl: pl.invoice_id == self.invoices_a[2])
        self.assertEqual(line.mandate_id, self.mandate_recurring)
        self.assertRefusedUnchanged(lambda: line.write({"mandate_id": self.mandate_b.id}))
        self.assertRefusedUnchanged(
            lambda: line.write({"partner_id": self.customer_only_b.id}))
        self.assertEqual(line.mandate_id, self.mandate_recurring)

    def test_create_batch_rechecks_tampered_proposal_line(self):
        env = self.env_of("billing")
        proposal = env["sepa.batch.proposal"].create({"journal_id": self.bank_journal.id})
        proposal.action_propose()
        line = proposal.line_ids.filtered(lambda pl: pl.invoice_id == self.invoices_a[2])
        # what an older version, a bug or SQL could leave behind
        self.env.cr.execute("UPDATE sepa_batch_proposal_line SET mandate_id = %s WHERE id = %s",
                            [self.mandate_b.id, line.id])
        self.env.invalidate_all()
        self.assertRefusedUnchanged(proposal.action_create_batch)

    def test_file_never_debits_other_company_mandate_written_in_sql(self):
        """A line that got company B's mandate behind the ORM's back (SQL, old data) is
        never debited: the file reads mandates of the batch's company only."""
        Line = self.env_of("billing")["sepa.batch.line"]
        line = Line.create(self.line_vals(
            collection_date=fields.Date.today() + timedelta(days=60)))
        self.env.cr.execute("UPDATE sepa_batch_line SET mandate_id = %s WHERE id = %s",
                            [self.mandate_b.id, line.id])
        self.env.invalidate_all()
        batch = self.env_of("billing")["sepa.batch"].browse(self.draft_batch_a.id)
        error = self.assertRefusedUnchanged(batch.action_generate)
        self.assertIn(line.end_to_end_id, str(error))
        self.assertFalse(self.draft_batch_a.file)

    def test_mandate_refuses_other_company_account_without_naming_it(self):
        mandate = self.env_of("billing")["sepa.mandate"].browse(self.mandate_recurring.id)
        account = self.mandate_recurring.partner_bank_id
        self.assertRefusedUnchanged(
            lambda: mandate.write({"partner_bank_id": self.bank_b.id}))
        self.assertEqual(self.mandate_recurring.partner_bank_id, account)

    def test_mandate_and_batch_refuse_other_company_records_without_naming_them(self):
        env = self.env_of("billing")
        error = self.assertRefusedUnchanged(lambda: env["sepa.mandate"].create({
            "partner_id": self.debtor_b.id, "partner_bank_id": self.bank_b.id,
            "mandate_type": "one_off", "invoice_id": self.invoices_b[2].id}))
        self.assertIn("another company", str(error))
        self.assertRefusedUnchanged(lambda: env["sepa.batch"].create({
            "journal_id": self.bank_journal_b.id}))

    def test_mandate_with_debits_keeps_its_company(self):
        self.assertRefusedUnchanged(
            lambda: self.mandate_recurring.write({"company_id": self.company_b.id}),
            ValidationError)
        self.assertEqual(self.mandate_recurring.company_id, self.company_a)

    def test_file_rows_only_of_the_batch_company(self):
        line = self.draft_batch_a.line_ids
        self.env.cr.execute("UPDATE sepa_batch_line SET mandate_id = %s WHERE id = %s",
                            [self.mandate_b.id, line.id])
        self.env.invalidate_all()
        self.assertFalse(self.draft_batch_a._debtor_rows(line.ids))

    def test_proposals_only_own_and_of_own_company(self):
        proposal_b = self.env(user=self.user_b)["sepa.batch.proposal"].create({
            "company_id": self.company_b.id, "journal_id": self.bank_journal_b.id})
        proposal_b.action_propose()
        manager_env = self.env_of("manager")
        proposal_a = manager_env["sepa.batch.proposal"].create(
            {"journal_id": self.bank_journal.id})
        proposal_a.action_propose()
        env = self.env_of("billing")
        for proposal in (proposal_b, proposal_a):
            lines = proposal.line_ids | proposal.excluded_line_ids
            self.assertTrue(lines)
            for model, records in (("sepa.batch.proposal", proposal),
                                   ("sepa.batch.proposal.line", lines)):
                self.assertFalse(env[model].search([("id", "in", records.ids)]))
                self.assertRefusedUnchanged(
                    lambda m=model, r=records: env[m].browse(r.ids).read(["display_name"]),
                    AccessError)
                self.assertRefusedUnchanged(
                    lambda m=model, r=records: env[m].browse(r.ids).unlink(), AccessError)
        self.assertTrue(manager_env["sepa.batch.proposal.line"].search(
            [("proposal_id", "=", proposal_a.id)]))

    def test_bank_accounts_of_other_company_mandates_hidden(self):
        for role in ("billing", "multi", "plain"):
            Bank = self.env_of(role)["res.partner.bank"]
            self.assertFalse(Bank.search([("id", "=", self.bank_b.id)]))
            self.assertFalse(Bank.name_search("NL02"))
            self.assertNoSecretOfB(str(Bank.name_search("NL", limit=1000)))
            groups = Bank.read_group([], ["acc_number"], ["acc_number"])
            self.assertNoSecretOfB(str(groups))
            self.assertRefusedUnchanged(
                lambda b=Bank: b.browse(self.bank_b.id).read(["acc_number"]), AccessError)
            self.assertRefusedUnchanged(
                lambda b=Bank: b.browse(self.bank_b.id).export_data(["acc_number"]),
                AccessError)
            exported = self.env_of(role)["res.partner"].browse(self.debtor_b.id).export_data(
                ["name", "bank_ids/acc_number"])
            self.assertNotIn(self.bank_b.acc_number, str(exported))
        # with company B active, the user in both companies reads them
        env_b = self.env(user=self.users["multi"],
                         context={"allowed_company_ids": [self.company_b.id]})
        self.assertEqual(env_b["res.partner.bank"].browse(self.bank_b.id).acc_number,
                         self.bank_b.acc_number)

    def test_debtor_iban_not_in_partner_chatter(self):
        """Odoo logs bank account changes on the partner with both IBANs."""
        self.bank_b.acc_number = "NL81RABO0312345678"
        self.debtor_b.invalidate_recordset()
        messages = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.debtor_b.id)])
        self.assertIn("NL81", str(Store(messages, for_current_user=True).get_result()))
        for role in ("plain", "billing", "multi"):
            env = self.env_of(role)
            result = Store(env["mail.message"].browse(messages.ids),
                           for_current_user=True).get_result()
            self.assertNotIn("NL81", str(result))
            self.assertNotIn("ABNA", str(result))

    def test_batch_file_attachment_not_readable(self):
        attachment = self.env["ir.attachment"].search([
            ("res_model", "=", "sepa.batch"), ("res_id", "=", self.batch_b.id),
            ("res_field", "=", "file")])
        self.assertTrue(attachment)
        for role in ("plain", "billing", "multi", "portal"):
            Attachment = self.env_of(role)["ir.attachment"]
            self.assertRefusedUnchanged(
                lambda a=Attachment: a.browse(attachment.id).read(["datas"]), AccessError)
            self.assertFalse(self.found(Attachment, [("id", "=", attachment.id)]))


    def test_no_iban_outside_direct_debit(self):
        """An internal user without direct debit rights finds no debtor IBAN of their own
        company either, whatever the channel."""
        debited = self.mandate_recurring.partner_bank_id
        debited.acc_number = "NL60INGB0009988776"  # logged on the customer's chatter
        ibans = ("NL91", "ABNA", "NL60", "9988 776")
        env = self.env_of("plain")
        Bank = env["res.partner.bank"]
        texts = [
            str(Bank.name_search("NL", limit=1000)),
            str(Bank.read_group([], ["acc_number"], ["acc_number"])),
            str(Bank.search_read([], ["acc_number"])),
            str(env["res.partner"].browse(self.recurring_partner.id).export_data(
                ["name", "bank_ids/acc_number"])),
        ]
        messages = env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.recurring_partner.id)])
        self.assertTrue(messages)
        texts.append(str(Store(messages, for_current_user=True).get_result()))
        for text in texts:
            for iban in ibans:
                self.assertNotIn(iban, text)
        # a direct debit user of the company sees the change
        billing = self.env_of("billing")["mail.message"].browse(messages.ids)
        self.assertIn("NL60", str(Store(billing, for_current_user=True).get_result()))

    def env_ab(self, role="multi"):
        """The user's environment with companies A and B active."""
        return self.env(user=self.users[role], context={
            "allowed_company_ids": [self.company_a.id, self.company_b.id]})

    def state(self):
        """What a control changes: the stornos' release, the mandates' sequence type
        override, the invoices' hold, the batches' messages and the control lines."""
        self.env.flush_all()
        return self.env.execute_query(SQL("""
            SELECT (SELECT array_agg((id, release_state, hold_note) ORDER BY id)
                      FROM sepa_storno),
                   (SELECT array_agg((id, sequence_type_override) ORDER BY id)
                      FROM sepa_mandate),
                   (SELECT array_agg(id ORDER BY id) FROM account_move WHERE sepa_hold),
                   (SELECT count(*) FROM mail_message WHERE model = 'sepa.batch'),
                   (SELECT array_agg(storno_id ORDER BY id) FROM sepa_control_line)"""))

    def assertRefused(self, call, exception=AccessError):
        """``call`` is refused with ``exception``, names nothing of company B and leaves
        the database as it was; returns the error's message."""
        before = self.state()
        with self.assertRaises(exception) as caught, self.env.cr.savepoint():
            call()
        self.env.invalidate_all()
        self.assertNoSecretOfB(str(caught.exception))
        self.assertEqual(self.state(), before)
        return str(caught.exception)

    # ------------------------------------------------------------------
    # control after reconciliation
    # ------------------------------------------------------------------

    def test_own_company_control(self):
        """The same user controls company A's failed debit: the reference for the
        refusals below."""
        Control = self.env_of("billing")["sepa.control"]
        batch = self.env_of("billing")["sepa.batch"].browse(self.batch_a.id)
        control = Control.browse(batch.action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id.ids, self.storno_a.ids)
        control.action_process()
        self.assertEqual(self.storno_a.release_state, "retry")
        # the menu's control (no batch): company A's failed debits only
        menu = Control._action_open()
        self.assertFalse(Control.browse(menu["res_id"]).line_ids)

    def test_user_of_a_cannot_open_the_control_of_b(self):
        env = self.env_of("billing")
        batch_b = env["sepa.batch"].browse(self.batch_b.id)
        self.assertRefused(batch_b.action_open_control)
        self.assertRefused(lambda: env["sepa.control"]._action_open(batch_b))
        # over RPC: a control of company B, filled by the wizard
        self.assertRefused(lambda: env["sepa.control"].create(
            {"company_id": self.company_b.id})._create_lines())

    def test_user_of_a_cannot_make_lines_of_stornos_of_b(self):
        """Over RPC a user can write any storno id in a control line: refused, for a
        control of company A as of company B (the line would show the debit's reason,
        mandate state and storno score)."""
        Control = self.env_of("billing")["sepa.control"]
        for company in (self.company_a, self.company_b):
            self.assertRefused(lambda c=company: Control.create({
                "company_id": c.id,
                "line_ids": [Command.create({"storno_id": self.storno_b.id,
                                             "release": "hold", "hold_note": "RPC"})],
            }))
        control = Control.browse(Control._action_open()["res_id"])
        self.assertRefused(lambda: control.write({"line_ids": [Command.create(
            {"storno_id": self.storno_b.id, "release": "hold", "hold_note": "RPC"})]}))
        self.assertRefused(lambda: control.line_ids.create(
            {"control_id": control.id, "storno_id": self.storno_b.id, "release": "hold"}))

    def test_user_of_a_cannot_process_the_control_of_b(self):
        """A control of company B made by a user of B, processed by a user of A (over
        RPC: transient records are not per user): refused, nothing changed."""
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        control = env_b["sepa.control"].browse(
            env_b["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id, self.storno_b)
        self.assertRefused(control.with_env(self.env_of("billing")).action_process)
        self.assertFalse(control.processed)
        self.assertEqual(self.storno_b.release_state, "none")

    def test_user_of_a_and_b_with_only_a_active(self):
        """A user allowed in both companies opens the control of B's batch with A and B
        active, then works in company A only: processing B's control says to switch
        company and changes nothing; with B active again it is processed."""
        env_ab = self.env_ab()
        control = env_ab["sepa.control"].browse(
            env_ab["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id, self.storno_b)
        env_a = self.env_of("multi")
        message = self.assertRefused(control.with_env(env_a).action_process)
        self.assertIn("switching to the company: Stichting Bedrijf B", message)
        self.assertFalse(control.processed)
        # opening it from batch B with company A active only: Odoo's own error, which
        # names the company to switch to (the user is allowed in it)
        message = self.assertRefused(
            env_a["sepa.batch"].browse(self.batch_b.id).action_open_control)
        self.assertIn("switching to the company: Stichting Bedrijf B", message)
        message = self.assertRefused(lambda: env_a["sepa.control"].create(
            {"company_id": self.company_b.id})._create_lines())
        self.assertIn("switching to the company: Stichting Bedrijf B", message)
        control.action_process()
        self.assertEqual(self.storno_b.release_state, "retry")
        self.assertEqual(self.storno_a.release_state, "none")

    # ------------------------------------------------------------------
    # wizards: each one its user's own, in one of their active companies
    # ------------------------------------------------------------------

    def previewed_import(self, env, journal, name, iban):
        """A return file import of ``env``'s user, previewed: its file (an attachment) and
        its unmatched line hold the debtor's name and IBAN."""
        account = journal.bank_account_id.sanitized_acc_number
        wizard = env["sepa.return.import"].create({
            "company_id": journal.company_id.id, "filename": "returns.xml",
            "data_file": base64.b64encode(return_file(account, name, iban))})
        wizard.action_preview()
        self.assertEqual(wizard.line_ids.status, "unmatched")
        self.assertIn(iban, wizard.line_ids.raw_data)
        return wizard.sudo()

    def import_attachment(self, wizard):
        return self.env["ir.attachment"].sudo().search([
            ("res_model", "=", "sepa.return.import"), ("res_id", "=", wizard.id),
            ("res_field", "=", "data_file")])

    def assertWizardHidden(self, env, records, write_vals, unlink=True):
        """The user of ``env`` neither finds, reads, writes nor deletes ``records``; the
        refusals name nothing of company B and change nothing."""
        Model = env[records._name]
        self.assertFalse(Model.search([("id", "in", records.ids)]))
        found = {row["id"] for row in Model.search_read([], ["display_name"])}
        self.assertFalse(found & set(records.ids))
        for call in (lambda: Model.browse(records.ids).read(list(write_vals)),
                     lambda: Model.browse(records.ids).write(write_vals),
                     *([lambda: Model.browse(records.ids).unlink()] if unlink else [])):
            before = records.sudo().read(list(write_vals))
            with self.assertRaises(AccessError) as caught, self.env.cr.savepoint():
                call()
            self.env.invalidate_all()
            self.assertNoSecretOfB(str(caught.exception))
            self.assertEqual(records.sudo().read(list(write_vals)), before)

    def test_return_import_of_b_hidden_from_users_of_a(self):
        """Company B's previewed import (its file, the debtors' names and IBANs of its
        lines) is neither found, read, swapped nor deleted by a user of A."""
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        wizard = self.previewed_import(env_b, self.bank_journal_b, "Geheime Klant B",
                                       IBAN_SECRET_B)
        attachment = self.import_attachment(wizard)
        self.assertIn(IBAN_SECRET_B.encode(), attachment.raw)
        swapped = base64.b64encode(return_file(CREDITOR_IBAN_B, "Other", "NL91ABNA0417164300"))
        for role in ("billing", "multi", "manager"):
            env = self.env_of(role)
            self.assertWizardHidden(env, wizard, {"data_file": swapped, "filename": "x.xml"})
            self.assertWizardHidden(env, wizard.line_ids, {"status": "match", "note": "RPC"})
            self.assertWizardHidden(env, attachment, {"description": "RPC"})
            self.assertFalse(env["ir.attachment"].search(
                [("res_model", "=", "sepa.return.import"), ("res_field", "=", "data_file")]))
            self.assertNoSecretOfB(str(env["sepa.return.import.line"].search_read(
                [], ["raw_data", "end_to_end_id"])))
        # B applies what it previewed
        stornos = env_b["sepa.storno"].search(wizard.with_env(env_b).action_apply()["domain"])
        self.assertEqual(stornos.raw_data["debtor_iban"], IBAN_SECRET_B)

    def test_return_import_of_another_user_of_the_company_hidden(self):
        wizard = self.previewed_import(self.env_of("manager"), self.bank_journal, "Klant A",
                                       IBAN_A)
        env = self.env_of("billing")
        self.assertWizardHidden(env, wizard, {"filename": "x.xml"})
        self.assertWizardHidden(env, wizard.line_ids, {"note": "RPC"})
        self.assertWizardHidden(env, self.import_attachment(wizard), {"description": "RPC"})
        # nor can lines be added to it
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            env["sepa.return.import.line"].create(
                {"import_id": wizard.id, "status": "unmatched", "kind": "return"})
        # its user works on
        self.assertEqual(wizard.with_env(self.env_of("manager")).unmatched_count, 1)

    def test_control_lines_of_b_and_of_another_user_hidden(self):
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        control_b = env_b["sepa.control"].browse(
            env_b["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        manager = self.env_of("manager")
        control_a = manager["sepa.control"].browse(
            manager["sepa.batch"].browse(self.batch_a.id).action_open_control()["res_id"])
        self.assertEqual(control_b.line_ids.storno_id, self.storno_b)
        self.assertEqual(control_a.line_ids.storno_id, self.storno_a)
        for control in (control_b, control_a):
            self.assertWizardHidden(self.env_of("billing"), control.sudo(),
                                    {"processed": True})
            self.assertWizardHidden(self.env_of("billing"), control.sudo().line_ids,
                                    {"release": "out", "hold_note": "RPC"})
        self.assertNoSecretOfB(str(self.env_of("billing")["sepa.control.line"].search_read(
            [], ["storno_id", "partner_id", "mandate_id", "amount"])))
        # their users process them
        control_a.action_process()
        self.assertEqual(self.storno_a.release_state, "retry")

    def test_storno_registration_and_mandate_wizards_own_only(self):
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        manager = self.env_of("manager")
        reason = self.env["sepa.return.reason"].search([("code", "=", "AM04")])
        for env, line, mandate in ((env_b, self.batch_b.line_ids[0], self.mandate_b),
                                   (manager, self.batch_a.line_ids[0], self.mandate_recurring)):
            register = env["sepa.storno.register"].create({
                "batch_line_id": line.id, "reason_id": reason.id, "kind": "return"})
            revoke = env["sepa.mandate.revoke"].create({
                "mandate_ids": [Command.set(mandate.ids)], "revocation_reason": "Moved"})
            reactivate = env["sepa.mandate.reactivate"].create({
                "mandate_ids": [Command.set(mandate.ids)]})
            billing = self.env_of("billing")
            self.assertWizardHidden(billing, register.sudo(), {"kind": "reject"})
            self.assertWizardHidden(billing, revoke.sudo(), {"revocation_reason": "RPC"})
            self.assertWizardHidden(billing, reactivate.sudo(),
                                    {"signature_date": fields.Date.today()})
        # a wizard of company B's records is refused to a user of A
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.env_of("billing")["sepa.mandate.revoke"].create({
                "mandate_ids": [Command.set(self.mandate_b.ids)], "revocation_reason": "RPC"})
        self.assertEqual(self.mandate_b.state, "active")

    # ------------------------------------------------------------------
    # storno analysis
    # ------------------------------------------------------------------

    def test_storno_analysis_of_own_company_only(self):
        """The pivot's totals of a user of A (and of a user of A and B with A active)
        count company A's debits and stornos only; B's rows are neither found nor read."""
        Report = self.env["sepa.storno.report"]
        rows_b = Report.search([("company_id", "=", self.company_b.id)])
        self.assertEqual(len(rows_b), 1)
        self.assertEqual(rows_b.storno_id, self.storno_b)
        for role in ("billing", "multi", "manager"):
            Report = self.env_of(role)["sepa.storno.report"]
            totals = Report.read_group([], ["debit_count", "debit_amount", "storno_count",
                                            "storno_amount"], [])
            self.assertEqual(len(totals), 1)
            self.assertEqual(totals[0]["__count"], 1)
            self.assertEqual(totals[0]["debit_count"], 1)
            self.assertAlmostEqual(totals[0]["debit_amount"], 10.0)
            self.assertEqual(totals[0]["storno_count"], 1)
            self.assertAlmostEqual(totals[0]["storno_amount"], 10.0)
            self.assertEqual(Report.search([]).storno_id, self.storno_a)
            self.assertFalse(Report.search([("partner_id", "=", self.debtor_b.id)]))
            self.assertRefused(lambda r=Report: r.browse(rows_b.ids).read(["end_to_end_id"]))
        # with both companies active the user of A and B sees both
        self.assertEqual(self.env_ab()["sepa.storno.report"].search([]).storno_id,
                         self.storno_a | self.storno_b)


@tagged("post_install", "-at_install")
class TestSecurityOverHttp(SepaTwoCompaniesCommon, HttpCase):
    """What a user gets over HTTP: in debug mode (open to every internal user) Odoo's
    access error lists the refused records by name (for bank accounts the IBAN); the
    batch file's download URLs."""

    def rpc_error(self, role, model, method, record_ids, *args):
        self.authenticate(f"sepa_{role}", f"sepa_{role}")
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}?debug=1",
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
                "model": model, "method": method, "args": [record_ids, *args],
                "kwargs": {"context": {"allowed_company_ids": [self.company_a.id]}}}}),
            headers={"Content-Type": "application/json"})
        error = response.json()["error"]["data"]
        self.assertEqual(error["name"], "odoo.exceptions.AccessError")
        return error["message"]

    def test_debug_mode_is_on_for_other_records(self):
        message = self.rpc_error("billing", "res.partner", "read", [self.customer_only_b.id],
                                 ["name"])
        self.assertIn("Klant Alleen B", message)  # Odoo's own behaviour, left alone

    def test_no_debtor_iban_in_access_error(self):
        message = self.rpc_error("plain", "res.partner.bank", "read", [self.debtor_bank.id],
                                 ["acc_number"])
        self.assertIn("res.partner.bank", message)
        self.assertNotIn("INGB", message)
        for model, records in (("res.partner.bank", self.bank_b),
                               ("sepa.mandate", self.mandate_b),
                               ("sepa.batch", self.batch_b),
                               ("sepa.batch.line", self.draft_batch_b.line_ids)):
            message = self.rpc_error("billing", model, "read", records.ids, ["display_name"])
            self.assertIn(model, message)
            self.assertNoSecretOfB(message)

    def test_batch_file_not_downloadable(self):
        """The pain.008 file (every debtor's IBAN) through the download URLs."""
        attachment = self.env["ir.attachment"].sudo().search([
            ("res_model", "=", "sepa.batch"), ("res_id", "=", self.batch_b.id),
            ("res_field", "=", "file")])
        self.assertIn(IBAN_SECRET_B.encode(), attachment.raw)
        for role in ("plain", "billing", "portal"):
            self.authenticate(f"sepa_{role}", f"sepa_{role}")
            for url in (f"/web/content/sepa.batch/{self.batch_b.id}/file?download=true",
                        f"/web/content/{attachment.id}?download=true",
                        f"/web/content/{attachment.id}?debug=1"):
                response = self.url_open(url)
                self.assertIn(response.status_code, (403, 404), url)
                self.assertNotIn(IBAN_SECRET_B, response.text)
                self.assertNoSecretOfB(response.text)
        self.authenticate("sepa_plain", "sepa_plain")
        own = self.env["ir.attachment"].sudo().search([
            ("res_model", "=", "sepa.batch"), ("res_id", "=", self.batch_a.id),
            ("res_field", "=", "file")])
        self.assertIn(self.url_open(f"/web/content/{own.id}").status_code, (403, 404))
        self.authenticate("sepa_billing", "sepa_billing")
        self.assertEqual(self.url_open(f"/web/content/{own.id}").status_code, 200)

    def call_kw(self, role, model, method, args, **kwargs):
        """``method`` of ``model`` called over JSON-RPC by the user of ``role``, with
        company A active: the response's ``result`` or ``error``."""
        self.authenticate(role, role)
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
                "model": model, "method": method, "args": args,
                "kwargs": {"context": {"allowed_company_ids": [self.company_a.id]},
                           **kwargs}}}),
            headers={"Content-Type": "application/json"})
        return response.json()

    def test_return_import_and_control_of_b_not_served_over_rpc(self):
        """A user of company A asks over JSON-RPC for company B's previewed import, its
        lines, its file and B's control lines: nothing is served, nothing changes."""
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        wizard = env_b["sepa.return.import"].create({
            "company_id": self.company_b.id, "filename": "returns-b.xml",
            "data_file": base64.b64encode(return_file(CREDITOR_IBAN_B, "Geheime Klant B",
                                                      IBAN_SECRET_B))})
        wizard.action_preview()
        self.batch_b.with_env(env_b).action_send()
        env_b["sepa.storno"].register([{
            "batch_line_id": self.batch_b.line_ids[0].id, "reason_code": "AM04",
            "kind": "return", "date": fields.Date.today(), "source": "manual"}])
        control = env_b["sepa.control"].browse(
            env_b["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        self.assertTrue(control.line_ids)
        attachment = self.env["ir.attachment"].sudo().search([
            ("res_model", "=", "sepa.return.import"), ("res_id", "=", wizard.id),
            ("res_field", "=", "data_file")])
        self.assertIn(IBAN_SECRET_B.encode(), attachment.raw)
        login = "sepa_billing"
        for model, fnames in (("sepa.return.import", ["data_file", "filename"]),
                              ("sepa.return.import.line", ["raw_data", "end_to_end_id"]),
                              ("sepa.control.line", ["storno_id", "partner_id", "release"])):
            rows = self.call_kw(login, model, "search_read", [[]], fields=fnames)["result"]
            self.assertFalse(rows, model)
        for model, records, values in (
                ("sepa.return.import", wizard, {"data_file": base64.b64encode(b"<x/>").decode()}),
                ("sepa.return.import.line", wizard.line_ids, {"status": "match"}),
                ("sepa.control.line", control.line_ids, {"release": "out"})):
            for method, args in (("read", [records.ids, list(values)]),
                                 ("write", [records.ids, values])):
                error = self.call_kw(login, model, method, args)["error"]["data"]
                self.assertEqual(error["name"], "odoo.exceptions.AccessError")
                self.assertNotIn(IBAN_SECRET_B, error["message"])
                self.assertNoSecretOfB(error["message"])
        for url in (f"/web/content/sepa.return.import/{wizard.id}/data_file?download=true",
                    f"/web/content/{attachment.id}?download=true"):
            response = self.url_open(url)
            self.assertIn(response.status_code, (403, 404), url)
            self.assertNotIn(IBAN_SECRET_B, response.text)
        self.assertEqual(control.line_ids.release, "retry")
        self.assertIn(IBAN_SECRET_B.encode(), attachment.raw)
        self.assertEqual(set(wizard.line_ids.mapped("status")), {"unmatched"})
        # B's user gets B's file
        self.authenticate("sepa_billing_b", "sepa_billing_b")
        self.assertEqual(self.url_open(f"/web/content/{attachment.id}").status_code, 200)

    def test_no_failed_debit_named_in_access_error(self):
        """A failed debit's reference is its end-to-end id: another company's is not
        listed by the access error of debug mode either."""
        env = self.env(context=dict(self.env.context, allowed_company_ids=self.company_b.ids))
        self.batch_b.with_env(env).action_send()
        storno = env["sepa.storno"].register([{
            "batch_line_id": self.batch_b.line_ids[0].id, "reason_code": "AM04",
            "kind": "return", "date": fields.Date.today(), "source": "manual"}])
        for model, records in (("sepa.storno", storno),
                               ("sepa.storno.event", storno.event_ids),
                               ("sepa.storno.report", env["sepa.storno.report"].search(
                                   [("storno_id", "=", storno.id)]))):
            self.assertTrue(records, model)
            message = self.rpc_error("billing", model, "read", records.ids, ["display_name"])
            self.assertIn(model, message)
            self.assertNotIn(storno.name, message)
            self.assertNotIn(self.batch_b.name, message)
