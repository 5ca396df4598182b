"""An upgraded database gets what a new install gets (migration 18.0.1.5.0): the
company's own direct debit accounts and fee product, and the reminder of each batch not
sent yet."""
from odoo.tests import tagged

from .common import SepaBatchCommon
from .test_storno_reasons import load_migration

SETUP = ("sepa_transit_account_id", "sepa_storno_account_id",
         "sepa_storno_charge_account_id", "sepa_storno_fee_product_id")


@tagged("post_install", "-at_install")
class TestUpgradeSetup(SepaBatchCommon):
    def migrate(self):
        self.env.flush_all()
        load_migration("18.0.1.5.0", "post-migrate").migrate(self.env.cr, "18.0.1.4.0")
        self.env.invalidate_all()

    def reminders(self, batches):
        todo = self.env.ref("mail.mail_activity_data_todo")
        return self.env["mail.activity"].search([
            ("res_model", "=", "sepa.batch"), ("res_id", "in", batches.ids),
            ("activity_type_id", "=", todo.id)])

    def test_company_of_an_old_version_gets_its_own_accounts(self):
        company = self.env.ref("base.main_company").sudo()
        kept = company.sepa_storno_charge_account_id
        # as a company of before 18.0.1.3.0: no transit, outstanding or fee product
        company.write({"sepa_transit_account_id": False, "sepa_storno_account_id": False,
                       "sepa_storno_fee_product_id": False})
        self.migrate()
        self.assertTrue(all(company[fname] for fname in SETUP))
        self.assertEqual(company.sepa_storno_charge_account_id, kept, "set: kept")
        self.assertNotEqual(company.sepa_transit_account_id, company.sepa_storno_account_id)
        self.assertNotEqual(company.sepa_transit_account_id, company.transfer_account_id)
        # run again: nothing made twice
        before = company.read(list(SETUP))
        self.migrate()
        self.assertEqual(company.read(list(SETUP)), before)

    def test_batches_not_sent_get_their_reminder(self):
        draft = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 19.0).id])
        sent = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 21.0).id])
        sent.action_generate()
        sent.action_send()
        # as batches of before 18.0.1.4.0: no reminder at all
        self.reminders(draft | sent).unlink()
        self.migrate()
        reminder = self.reminders(draft)
        self.assertRecordValues(reminder, [{
            "user_id": draft.user_id.id, "date_deadline": draft.latest_delivery_date}])
        self.assertFalse(self.reminders(sent), "a sent batch needs no reminder")

    def test_companies_of_before_keep_printing_mandates(self):
        """Send New Mandates for Signature is on for new companies, off after the
        upgrade for the companies that used the addon before."""
        company = self.env.ref("base.main_company").sudo()
        self.assertTrue(company.sepa_sign_auto_send)
        self.migrate()
        self.assertFalse(company.sepa_sign_auto_send)
