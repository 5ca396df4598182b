import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.mail.tools.discuss import Store

from .common import IBAN_B, SepaCommon
from .security_common import IBAN_SECRET_B, SepaTwoCompaniesCommon


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
    """A user of company A cannot collect from, nor look at, company B's customers."""

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


@tagged("post_install", "-at_install")
class TestDebugModeAccessErrors(SepaTwoCompaniesCommon, HttpCase):
    """In debug mode (open to every internal user) Odoo's access error lists the refused
    records by name: for bank accounts the IBAN."""

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


@tagged("post_install", "-at_install")
class TestNoIbanOutsideDirectDebit(SepaTwoCompaniesCommon):
    """An internal user without direct debit rights finds no debtor IBAN of their own
    company either, whatever the channel."""

    def test_channels(self):
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


@tagged("post_install", "-at_install")
class TestBatchFileDownload(SepaTwoCompaniesCommon, HttpCase):
    """The pain.008 file (every debtor's IBAN) through the download URLs."""

    def test_batch_file_not_downloadable(self):
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
