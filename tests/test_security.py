from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import IBAN_B, SepaCommon


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
