"""Storno analysis (sepa.storno.report): its figures against hand counts."""

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import IBAN_C
from .security_common import CREDITOR_IBAN_B, CREDITOR_ID_B, IBAN_SECRET_B
from .test_storno_accounting import StornoCommon

MEASURES = ["debit_count:sum", "debit_amount:sum", "storno_count:sum", "storno_amount:sum",
            "storno_rate:avg"]


@tagged("post_install", "-at_install")
class TestStornoReport(StornoCommon):
    """Company A: batch 1 (sent) with a merged debit rejected (150.25) and a debit whose
    reject was cancelled (30); batch 2, collected a later month and settled, with a
    returned debit (40) and two good ones (25, 15); a draft batch (12). Company B: a sent
    batch (11)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["sepa.storno.report"]
        cls.piet, cls.mandate_piet = cls.create_debtor(
            "Piet Jansen", IBAN_C, sequence_type="recurring", name="MDT-PIET")
        cls.user_a = new_test_user(cls.env, login="sepa_report_a",
                                   groups="account.group_account_invoice",
                                   company_id=cls.company.id)
        # the tests only read: the batches are made once (each test is rolled back)
        cls.invoice(cls.debtor, 100.0)
        inv_first_2 = cls.invoice(cls.debtor, 50.25)
        inv_rec = cls.invoice(cls.recurring_partner, 30.0)
        cls.batch_1 = cls.send_batch()
        cls.rejected = cls.register(cls.line_of(cls.batch_1, inv_first_2))
        cls.cancelled = cls.register(cls.line_of(cls.batch_1, inv_rec), code="MS02")
        cls.cancelled.action_cancel()
        inv_returned = cls.invoice(cls.recurring_partner, 40.0)
        cls.invoice(cls.piet, 25.0)
        cls.invoice(cls.piet, 15.0)
        wizard = cls.propose()
        wizard.line_ids.collection_date = fields.Date.today() + relativedelta(days=70)
        cls.batch_2 = cls.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        cls.batch_2.action_generate()
        cls.batch_2.action_send()
        cls.statement(80.0, cls.batch_2.name)
        cls.batch_2_state = cls.batch_2.state
        cls.returned = cls.register(cls.line_of(cls.batch_2, inv_returned), code="MD06",
                                    kind="return")
        cls.invoice(cls.piet, 12.0)
        cls.draft_batch = cls.create_batch()
        cls.month_1 = cls.batch_1.line_ids[0].collection_date.replace(day=1)
        cls.month_2 = cls.batch_2.line_ids[0].collection_date.replace(day=1)

    def setUp(self):
        super().setUp()
        # the set-up as the tests expect it
        self.assertEqual(self.batch_2_state, "done")  # settled by the statement
        self.assertEqual(self.draft_batch.state, "draft")
        self.assertNotEqual(self.month_1, self.month_2)

    def other_company_batch(self):
        company_b = self.setup_other_company(
            name="Stichting Bedrijf B", currency_id=self.env.ref("base.EUR").id)["company"]
        company_b.sepa_creditor_identifier = CREDITOR_ID_B
        journal_b = self.env["account.journal"].create({
            "name": "Bank B", "code": "BNKB", "type": "bank", "company_id": company_b.id,
            "bank_account_id": self.env["res.partner.bank"].create({
                "acc_number": CREDITOR_IBAN_B, "partner_id": company_b.partner_id.id}).id})
        debtor_b, _mandate = self.create_debtor(
            "Klant B", IBAN_SECRET_B, name="MDT-B", company_id=company_b.id,
            sequence_type="recurring")
        self.invoice(debtor_b, 11.0, company=company_b)
        wizard = self.env["sepa.batch.proposal"].with_company(company_b).create({
            "company_id": company_b.id, "journal_id": journal_b.id})
        wizard.action_propose()
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        return batch

    def read(self, groupby, user=None):
        report = self.Report.with_user(user) if user else self.Report
        return {group[:-5]: group[-5:]
                for group in report._read_group([], groupby, MEASURES)}

    def test_figures_per_month_against_hand_counts(self):
        batch_b = self.other_company_batch()
        self.assertEqual(batch_b.state, "sent")
        figures = self.read(["date:month"], user=self.user_a)
        # month 1: the merged debit (once, 150.25, rejected) and the cancelled reject's
        # debit (30: a debit, no storno); month 2: 40 returned, 25 and 15 fine; the draft
        # batch and company B's batch are not there.
        self.assertEqual(set(figures), {(self.month_1,), (self.month_2,)})
        debits, debited, stornos, failed, rate = figures[self.month_1,]
        self.assertEqual((debits, stornos), (2, 1))
        self.assertAlmostEqual(debited, 180.25)
        self.assertAlmostEqual(failed, 150.25)
        self.assertAlmostEqual(rate, 50.0)
        debits, debited, stornos, failed, rate = figures[self.month_2,]
        self.assertEqual((debits, stornos), (3, 1))
        self.assertAlmostEqual(debited, 80.0)
        self.assertAlmostEqual(failed, 40.0)
        self.assertAlmostEqual(rate, 100 / 3)
        # the whole period: the rate aggregates as stornos / debits, not as a mean of
        # the monthly rates (50 and 33.3)
        [(debits, debited, stornos, failed, rate)] = self.read([], user=self.user_a).values()
        self.assertEqual((debits, stornos), (5, 2))
        self.assertAlmostEqual(debited, 260.25)
        self.assertAlmostEqual(failed, 190.25)
        self.assertAlmostEqual(rate, 40.0)
        # with both companies: company B's debit too
        [(debits, *_rest)] = self.read([]).values()
        self.assertEqual(debits, 6)

    def test_figures_per_reason_kind_customer_mandate_and_batch(self):
        reasons = self.read(["reason_id", "kind"])
        am04 = self.env.ref("sepa_direct_debit.return_reason_am04")
        md06 = self.env.ref("sepa_direct_debit.return_reason_md06")
        self.assertEqual(reasons, {
            (am04, "reject"): (1, 150.25, 1, 150.25, 100.0),
            (md06, "return"): (1, 40.0, 1, 40.0, 100.0),
            (self.env["sepa.return.reason"], False): (3, 70.0, 0, 0.0, 0.0),
        })
        customers = self.read(["partner_id", "mandate_id"])
        self.assertEqual(customers, {
            (self.debtor, self.mandate_first): (1, 150.25, 1, 150.25, 100.0),
            (self.recurring_partner, self.mandate_recurring): (2, 70.0, 1, 40.0, 50.0),
            (self.piet, self.mandate_piet): (2, 40.0, 0, 0.0, 0.0),
        })
        batches = self.read(["batch_id"])
        self.assertEqual(set(batches), {(self.batch_1,), (self.batch_2,)})
        # one row per debit, pointing at its registered storno (not the cancelled one)
        rows = self.Report.search([("batch_id", "=", self.batch_1.id)], order="id")
        self.assertEqual(rows.storno_id, self.rejected)
        self.assertEqual(self.cancelled.state, "cancelled")

    def test_smart_buttons_count_registered_stornos(self):
        self.assertEqual(self.recurring_partner.sepa_storno_count, 1)  # not the cancelled
        self.assertEqual(self.mandate_recurring.storno_count, 1)
        action = self.recurring_partner.action_view_sepa_stornos()
        stornos = self.env["sepa.storno"].search(action["domain"] + [("state", "=", "done")])
        self.assertEqual(stornos, self.returned)
        # the title the web client shows (it prefers display_name to name)
        self.assertEqual(action["display_name"],
                         f"Failed Debits of {self.recurring_partner.name}")
        action = self.mandate_first.action_open_stornos()
        self.assertEqual(self.env["sepa.storno"].search(action["domain"]), self.rejected)

    def test_reachable_from_menus_lists_and_forms(self):
        action = self.env.ref("sepa_direct_debit.action_sepa_storno_report")
        menu = self.env.ref("sepa_direct_debit.menu_sepa_storno_report")
        self.assertEqual(menu.action, action)
        self.assertEqual(menu.parent_id, self.env.ref("account.account_reports_management_menu"))
        self.assertEqual(action.view_mode, "pivot,graph")
        storno_list = self.env["sepa.storno"].get_views([(False, "list")])["views"]["list"]
        self.assertIn(f'name="{action.id}"', storno_list["arch"])
        partner_form = self.env["res.partner"].get_views([(False, "form")])["views"]["form"]
        self.assertIn('name="action_view_sepa_stornos"', partner_form["arch"])
        mandate_form = self.env["sepa.mandate"].get_views([(False, "form")])["views"]["form"]
        self.assertIn('name="action_open_stornos"', mandate_form["arch"])
        storno_form = self.env["sepa.storno"].get_views([(False, "form")])["views"]["form"]
        self.assertIn('name="fee_invoice_id"', storno_form["arch"])
