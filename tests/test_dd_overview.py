"""Direct Debit overview: every figure against a known database, and each figure's
button lists exactly the records it counts."""

import json
from datetime import date

from freezegun import freeze_time

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import SepaTourCase
from .test_storno_accounting import StornoCommon

TODAY = date(2026, 3, 11)  # a Wednesday in the middle of a month
IBAN_E = "NL64ABNA0417164301"
IBAN_F = "NL37ABNA0417164302"
IBAN_G = "NL10ABNA0417164303"
IBAN_H = "NL80ABNA0417164304"
IBAN_K = "NL53ABNA0417164305"
IBAN_M = "NL26ABNA0417164306"


@tagged("post_install", "-at_install")
class TestDirectDebitOverview(StornoCommon):
    """Frozen on 11 March 2026 (bank lead time 1 day: a file delivered today is
    collected on Friday 13 March):

    - sent batch: 100.00 (debtor), 30.00 (recurring customer), 40.00 (customer C),
      collected on 13 March; the first two failed (rejects), the first one is held
      (released), the second is still to release; 40.00 in transit;
    - a draft batch of 25.00 and a generated batch of 15.00 (deliver by 11 March);
    - to collect: 60.00 and 70.00 due on 31 March (deliver to the bank by 27 March),
      besides invoices of customers without a mandate or with one to sign;
    - mandates: two to sign; one expiring (signed 1 May 2023, never collected); one
      signed 1 July 2023 not expiring yet.
    """

    @classmethod
    def setUpClass(cls):
        cls.startClassPatcher(freeze_time("2026-03-11 09:00:00"))
        super().setUpClass()
        cls.partner_c, cls.mandate_c = cls.create_debtor(
            "Klaas Jansen", "NL44RABO0123456789", sequence_type="recurring")
        cls.partner_d, cls.mandate_d = cls.create_debtor(
            "Dirk Smit", "NL36INGB0007654321", sequence_type="recurring")
        cls.partner_e, cls.mandate_e = cls.create_debtor(
            "Eva Visser", IBAN_E, sequence_type="recurring")
        cls.partner_f, cls.mandate_f = cls.create_debtor("Fien Bakker", IBAN_F, state="draft")
        cls.partner_g, cls.mandate_g = cls.create_debtor(
            "Gert Mulder", IBAN_G, signature_date="2023-05-01")
        cls.partner_h, cls.mandate_h = cls.create_debtor(
            "Hanna de Boer", IBAN_H, signature_date="2023-07-01")
        # direct debit customer whose mandate (made for him) is still to sign
        cls.unsigned = cls.env["res.partner"].create({"name": "Nog Niet Getekend",
                                                      "sepa_collect": True})
        cls.to_sign = cls.mandate_f | cls.unsigned.sepa_mandate_ids
        cls.by_transfer = cls.env["res.partner"].create({"name": "Betaalt Per Overschrijving"})

        # the sent batch and its failed debits
        sent_invoices = (cls.invoice(cls.debtor, 100.0) | cls.invoice(cls.recurring_partner, 30.0)
                         | cls.invoice(cls.partner_c, 40.0))
        cls.sent_batch = cls.create_batch(invoice_ids=[Command.set(sent_invoices.ids)])
        cls.sent_batch.action_generate()
        cls.sent_batch.action_send()
        lines = cls.sent_batch.line_ids
        cls.storno_held = cls.register(lines.filtered(lambda line: line.partner_id == cls.debtor))
        cls.storno_held.action_hold("Customer disputes the invoice")
        cls.storno_open = cls.register(
            lines.filtered(lambda line: line.partner_id == cls.recurring_partner))

        # a draft and a generated batch
        cls.draft_batch = cls.create_batch(
            invoice_ids=[Command.set(cls.invoice(cls.partner_d, 25.0).ids)])
        cls.generated_batch = cls.create_batch(
            invoice_ids=[Command.set(cls.invoice(cls.partner_e, 15.0).ids)])
        cls.generated_batch.action_generate()

        # invoices to collect, due on 31 March, and invoices that cannot be collected
        due = {"invoice_date": date(2026, 3, 1), "invoice_date_due": date(2026, 3, 31)}
        cls.to_collect = cls.invoice(cls.partner_d, 60.0, **due) | cls.invoice(
            cls.partner_e, 70.0, **due)
        cls.not_collectable = (cls.invoice(cls.partner_f, 80.0)
                               | cls.invoice(cls.unsigned, 90.0)
                               | cls.invoice(cls.by_transfer, 95.0))

    def overview(self, env=None):
        env = env or self.env
        action = env.ref("sepa_direct_debit.action_sepa_overview").run()
        self.assertEqual((action["res_model"], action["view_mode"]), ("sepa.overview", "form"))
        return env["sepa.overview"].browse(action["res_id"])

    def listed(self, action, env=None):
        env = env or self.env
        return env[action["res_model"]].search(action["domain"])

    def test_figures(self):
        self.assertEqual(self.sent_batch.state, "sent")
        self.assertEqual(self.sent_batch.collection_date, date(2026, 3, 13))
        self.assertRecordValues(self.overview(), [{
            "collect_count": 2,
            "collect_amount": 130.0,
            "collect_delivery_date": date(2026, 3, 27),
            "batch_draft_count": 1,
            "batch_draft_amount": 25.0,
            "batch_generated_count": 1,
            "batch_generated_amount": 15.0,
            "batch_delivery_date": TODAY,
            "batch_delivery_late": True,
            "transit_count": 1,
            "transit_amount": 40.0,
            "storno_count": 1,
            "storno_amount": 30.0,
            "rate_debit_count": 3,
            "rate_storno_count": 2,
            "mandate_draft_count": 2,
            "mandate_expiring_count": 1,
        }])
        overview = self.overview()
        self.assertEqual(overview.storno_rate, 66.7)  # 2 of 3 debits
        chart = str(overview.storno_rate_chart)
        for month in ("Jan 2026", "Feb 2026", "Mar 2026"):
            self.assertIn(month, chart)
        self.assertIn("66.7 % (2 of 3 debits)", chart)
        self.assertEqual(chart.count("0.0 % (0 of 0 debits)"), 2)

    def test_each_button_lists_exactly_its_records(self):
        overview = self.overview()
        expected = {
            "action_open_collect": self.to_collect,
            "action_open_batches_to_generate": self.draft_batch,
            "action_open_batches_to_send": self.generated_batch,
            "action_open_transit": self.sent_batch,
            "action_open_stornos": self.storno_open,
            "action_open_mandates_to_sign": self.to_sign,
            "action_open_mandates_expiring": self.mandate_g,
        }
        for method, records in expected.items():
            with self.subTest(method=method):
                action = getattr(overview, method)()
                self.assertEqual(action["type"], "ir.actions.act_window")
                self.assertEqual(action["context"], {})  # no default filter hides any
                self.assertEqual(self.listed(action), records)
        # the storno rate: the graph of the debits of the last three months
        action = overview.action_open_storno_rate()
        self.assertEqual(action["res_model"], "sepa.storno.report")
        self.assertEqual(action["views"][0][1], "graph")
        self.assertEqual(action["context"]["graph_measure"], "storno_rate")
        rows = self.listed(action)
        self.assertEqual(rows.batch_id, self.sent_batch)
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows.storno_id, self.storno_held | self.storno_open)
        # Create Batch opens the proposal
        self.assertEqual(overview.action_create_batch()["res_model"], "sepa.batch.proposal")

    def test_overdue_invoice_delivered_today(self):
        """An invoice due in the past is collected as soon as possible: deliver today."""
        self.invoice(self.partner_d, 10.0)
        self.assertEqual(self.overview().collect_delivery_date, TODAY)

    def test_collection_day_of_the_company(self):
        """With a collection day (the 5th) the invoices due on 31 March are collected on
        Tuesday 7 April (the 5th is a Sunday, the 6th Easter Monday): deliver by
        Wednesday 1 April (two business days before; Good Friday is a TARGET2 holiday)."""
        self.company.sepa_collection_day = 5
        self.assertEqual(self.overview().collect_delivery_date, date(2026, 4, 1))

    def test_settled_and_released_leave_the_overview(self):
        self.storno_open.action_hold("Waiting for the customer")
        self.draft_batch.action_generate()
        overview = self.overview()
        self.assertRecordValues(overview, [{
            "storno_count": 0, "storno_amount": 0.0,
            "batch_draft_count": 0, "batch_generated_count": 2,
            "batch_generated_amount": 40.0,
        }])
        self.assertFalse(self.listed(overview.action_open_stornos()))
        # the list opens under its own title: the web client shows display_name
        self.assertEqual(overview.action_open_batches_to_generate()["display_name"],
                         "Batches to Generate")

    def test_query_count_independent_of_the_records(self):
        def count_queries():
            self.env.flush_all()
            self.env.invalidate_all()
            overview = self.overview()
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            overview.read(list(overview._fields))
            return self.env.cr.sql_log_count - before

        count_queries()  # warm the registry's caches
        queries = count_queries()
        # one query per figure (7: invoices, batches, transit, failed debits, storno
        # rate, mandates to sign, expiring), the overview itself and the user, the
        # companies and the currency read again after the cache was emptied
        self.assertLessEqual(queries, 15)
        # more of everything the overview counts
        self.invoices(self.partner_d, [11.0, 12.0, 13.0, 14.0])
        for name, iban in (("Karel", IBAN_K), ("Mies", IBAN_M)):
            self.create_debtor(name, iban, state="draft")
        self.create_batch(invoice_ids=[Command.set(
            self.invoices(self.partner_e, [5.0, 6.0]).ids)])
        self.assertEqual(count_queries(), queries)
        self.assertRecordValues(self.overview(), [{
            "collect_count": 6, "collect_amount": 180.0, "mandate_draft_count": 4,
            "batch_draft_count": 2, "batch_draft_amount": 36.0}])

    def test_current_companies_only(self):
        company_b = self.env["res.company"].create({
            "name": "Tweede Vereniging", "currency_id": self.env.ref("base.EUR").id})
        self.env.user.company_ids |= company_b
        partner = self.env["res.partner"].create({"name": "Debiteur B"})
        bank = self.env["res.partner.bank"].create({
            "acc_number": IBAN_K, "partner_id": partner.id, "company_id": company_b.id})
        mandate_b = self.Mandate.create({
            "partner_id": partner.id, "partner_bank_id": bank.id,
            "name": "MDT-B", "signature_date": "2025-01-15", "company_id": company_b.id})
        env_a = self.env(context=dict(self.env.context, allowed_company_ids=self.company.ids))
        overview = self.overview(env_a)
        self.assertEqual(overview.mandate_draft_count, 2)
        self.assertEqual(self.listed(overview.action_open_mandates_to_sign(), env_a),
                         self.to_sign)
        env_ab = self.env(context=dict(
            self.env.context, allowed_company_ids=(self.company | company_b).ids))
        overview = self.overview(env_ab)
        self.assertEqual(overview.mandate_draft_count, 3)
        self.assertEqual(self.listed(overview.action_open_mandates_to_sign(), env_ab),
                         self.to_sign | mandate_b)
        env_b = self.env(context=dict(self.env.context, allowed_company_ids=company_b.ids))
        self.assertRecordValues(self.overview(env_b), [{
            "collect_count": 0, "batch_generated_count": 0, "transit_amount": 0.0,
            "storno_count": 0, "rate_debit_count": 0, "mandate_draft_count": 1}])

    def test_billing_user_opens_it(self):
        billing = new_test_user(
            self.env, login="dd_overview_billing",
            groups="account.group_account_invoice,sepa_direct_debit.group_sepa_user",
            company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        env = self.env(user=billing)
        env["sepa.overview"].get_view(
            self.env.ref("sepa_direct_debit.view_sepa_overview_form").id, "form")
        overview = self.overview(env)
        self.assertRecordValues(overview, [{
            "collect_count": 2, "batch_draft_count": 1, "transit_amount": 40.0,
            "storno_count": 1, "rate_storno_count": 2, "mandate_draft_count": 2,
            "mandate_expiring_count": 1}])
        self.assertEqual(self.listed(overview.action_open_stornos(), env), self.storno_open)
        self.assertEqual(self.listed(overview.action_open_collect(), env), self.to_collect)
        self.assertEqual(len(self.listed(overview.action_open_storno_rate(), env)), 3)
        self.assertEqual(overview.action_refresh()["res_model"], "sepa.overview")

    def test_bank_journal_card(self):
        data = json.loads(self.bank_journal.kanban_dashboard)
        self.assertEqual(
            (data["sepa_show"], data["sepa_to_generate"], data["sepa_to_send"],
             data["sepa_transit_count"]), (True, 1, 1, 1))
        self.assertIn("40.00", data["sepa_transit"])
        expected = {"draft": self.draft_batch, "generated": self.generated_batch,
                    "transit": self.sent_batch}
        for what, batches in expected.items():
            with self.subTest(what=what):
                action = self.bank_journal.with_context(
                    sepa_list=what).action_sepa_dashboard_open()
                self.assertEqual(self.listed(action), batches)
        action = self.bank_journal.action_sepa_dashboard_open()
        self.assertEqual(action["res_model"], "sepa.overview")
        # the batches of another bank journal are not this one's
        other = self.bank_journal.copy({"name": "Tweede Bank", "code": "BNK9"})
        action = other.with_context(sepa_list="draft").action_sepa_dashboard_open()
        self.assertFalse(self.listed(action))
        self.assertNotIn("sepa_show", json.loads(other.kanban_dashboard))
        # users outside Direct Debit see the card without its lines
        auditor = new_test_user(
            self.env, login="dd_overview_auditor", groups="account.group_account_readonly",
            company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        self.assertFalse(auditor.has_group("sepa_direct_debit.group_sepa_user"))
        data = json.loads(self.bank_journal.with_user(auditor).kanban_dashboard)
        self.assertNotIn("sepa_show", data)


@tagged("post_install", "-at_install")
class TestDirectDebitOverviewTour(SepaTourCase):
    def test_overview_tour(self):
        self.setup_creditor()
        partner = self.env["res.partner"].create({"name": "Tour Debiteur"})
        self.env["sepa.mandate"].create({
            "name": "TOUR-SIGN-1", "partner_id": partner.id, "signature_date": "2025-01-15",
            "partner_bank_id": self.env["res.partner.bank"].create({
                "acc_number": IBAN_E, "partner_id": partner.id}).id})
        new_test_user(self.env, login="dd_overview_tour",
                      groups="account.group_account_invoice,sepa_direct_debit.group_sepa_user",
                      company_id=self.env.company.id)
        self.start_tour("/odoo/action-sepa_direct_debit.action_sepa_overview",
                        "sepa_overview_tour", login="dd_overview_tour")

    def test_journal_card_tour(self):
        journal = self.setup_creditor()
        partner = self.env["res.partner"].create({"name": "Tour Debiteur"})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id, "signature_date": "2025-01-15",
            "partner_bank_id": self.env["res.partner.bank"].create({
                "acc_number": IBAN_E, "partner_id": partner.id}).id})
        mandate.action_activate()
        partner.sepa_collect = True
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Contributie", "price_unit": 25.0, "tax_ids": [Command.clear()]})]})
        invoice.action_post()
        proposal = self.env["sepa.batch.proposal"].create({"journal_id": journal.id})
        proposal.action_propose()
        proposal.action_create_batch()
        self.assertEqual(invoice.sepa_state, "in_batch")
        new_test_user(self.env, login="dd_card_tour",
                      groups="account.group_account_invoice,sepa_direct_debit.group_sepa_user",
                      company_id=self.env.company.id)
        self.start_tour("/odoo/action-account.open_account_journal_dashboard_kanban",
                        "sepa_journal_card_tour", login="dd_card_tour")
