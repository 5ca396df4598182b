import base64
from datetime import date, timedelta

from freezegun import freeze_time
from lxml import etree

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import format_date

from ..sepa.calendar import earliest_collection_date, latest_delivery_date, next_collection_day
from .common import SepaBatchCommon

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@tagged("post_install", "-at_install")
class TestBatchOneDate(SepaBatchCommon):
    """One collection date for the monthly run: the bank credits once per sequence type."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.today()
        # five invoices due on five dates: two of the first-debit customer, three of the
        # recurring one
        cls.due_dates = [today + timedelta(days=days) for days in (3, 9, 16, 23, 30)]
        cls.five = cls.env["account.move"]
        for n, (partner, due) in enumerate(zip(
                [cls.debtor, cls.debtor, cls.recurring_partner, cls.recurring_partner,
                 cls.recurring_partner], cls.due_dates, strict=True)):
            cls.five |= cls.invoice(partner, 10.0 + n, invoice_date=today,
                                    invoice_date_due=due)
        cls.instruction_date = today + timedelta(days=40)

    def earliest(self):
        return earliest_collection_date(fields.Date.context_today(self.env.user), "CORE",
                                        bank_cutoff_days=self.env.company.sepa_bank_lead_days)

    def propose_five(self, **values):
        return self.propose(instruction_date=self.instruction_date,
                            invoice_ids=self.five.ids, **values)

    def blocks(self, batch):
        batch.action_generate()
        root = etree.fromstring(base64.b64decode(batch.file))
        return sorted(
            (pmt.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
             pmt.findtext("p:ReqdColltnDt", namespaces=NS),
             len(pmt.findall("p:DrctDbtTxInf", namespaces=NS)))
            for pmt in root.iterfind(".//p:PmtInf", namespaces=NS))

    # ------------------------------------------------------------------
    # one date
    # ------------------------------------------------------------------

    def test_five_due_dates_make_one_batch_on_one_date(self):
        self.assertEqual(len(set(self.five.mapped("invoice_date_due"))), 5)
        wizard = self.propose_five()
        run_date = self.earliest()  # no collection day of the month: the earliest date
        self.assertRecordValues(wizard, [{"collect_on_one_date": True,
                                          "one_collection_date": run_date}])
        self.assertEqual(wizard.line_ids.invoice_id, self.five)
        self.assertEqual(set(wizard.line_ids.mapped("collection_date")), {run_date})
        self.assertEqual(wizard.latest_delivery_date,
                         latest_delivery_date(run_date, "CORE", bank_lead_days=1))
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(set(batch.line_ids.mapped("collection_date")), {run_date})
        self.assertEqual(len(set(batch.line_ids.mapped("pmt_inf_id"))), 2)
        # one PmtInf per sequence type; the first-debit customer's two invoices are one
        # debit
        self.assertEqual(self.blocks(batch), [("FRST", str(run_date), 1),
                                              ("RCUR", str(run_date), 3)])

    def test_the_company_collection_day_picks_the_date(self):
        self.env.company.sepa_collection_day = 15
        expected = next_collection_day(self.earliest(), 15)
        wizard = self.propose_five()
        self.assertEqual(wizard.one_collection_date, expected)
        self.assertEqual(set(wizard.line_ids.mapped("collection_date")), {expected})

    def test_collection_day_across_month_end_weekend_and_holidays(self):
        # (today, collection day, the default): lead time 1 business day, so the
        # earliest date is two business days after today
        cases = [
            (date(2026, 12, 21), 25, date(2026, 12, 28)),  # 25, 26 Dec closed, 27 a Sunday
            (date(2026, 12, 28), 1, date(2027, 1, 4)),  # 1 Jan closed, then a weekend
            (date(2027, 1, 27), 28, date(2027, 3, 1)),  # 28 Jan too early, 28 Feb Sunday
            (date(2027, 1, 27), 0, date(2027, 1, 29)),  # none: the earliest date
        ]
        for today, day, expected in cases:
            with self.subTest(today=today, day=day), freeze_time(today):
                self.env.company.sepa_collection_day = day
                wizard = self.env["sepa.batch.proposal"].create(
                    {"journal_id": self.bank_journal.id})
                self.assertEqual(wizard.one_collection_date, expected)

    def test_changing_the_date_moves_every_line(self):
        wizard = self.propose_five()
        later = self.earliest() + timedelta(days=20)
        wizard.write({"one_collection_date": later})
        self.assertEqual(set(wizard.line_ids.mapped("collection_date")), {later})
        self.assertEqual(set(wizard.line_ids.mapped("latest_delivery_date")),
                         {latest_delivery_date(later, "CORE", bank_lead_days=1)})
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(self.blocks(batch), [("FRST", str(later), 1),
                                              ("RCUR", str(later), 3)])

    def test_a_date_before_the_earliest_is_refused(self):
        wizard = self.propose_five()
        earliest = self.earliest()
        too_early = earliest - timedelta(days=1)
        with self.assertRaisesRegex(ValidationError, "too early.*earliest possible"), \
                self.env.cr.savepoint():
            wizard.write({"one_collection_date": too_early})
        wizard.invalidate_recordset()
        self.assertEqual(wizard.one_collection_date, earliest)
        self.assertEqual(set(wizard.line_ids.mapped("collection_date")), {earliest})
        # said as soon as the date is typed in the form
        typed = self.env["sepa.batch.proposal"].new({
            "journal_id": self.bank_journal.id, "one_collection_date": too_early})
        warning = typed._onchange_one_collection_date()["warning"]
        self.assertIn(f"earliest possible collection date is {format_date(self.env, earliest)}",
                      warning["message"])
        with self.assertRaisesRegex(ValidationError, "too early"):
            self.env["sepa.batch.proposal"].create({
                "journal_id": self.bank_journal.id, "one_collection_date": too_early})

    def test_the_settings_page_sets_the_collection_day(self):
        with Form(self.env["res.config.settings"]) as settings:
            settings.sepa_collection_day = 25
        self.assertEqual(self.env.company.sepa_collection_day, 25)
        with self.assertRaisesRegex(ValidationError, "from 0 to 28"):
            self.env.company.sepa_collection_day = 29

    # ------------------------------------------------------------------
    # by due date (as before)
    # ------------------------------------------------------------------

    def test_by_due_date_keeps_each_due_date(self):
        wizard = self.propose_five(collect_on_one_date=False)
        expected = {line.invoice_id: max(line.invoice_id.invoice_date_due, self.earliest())
                    for line in wizard.line_ids}
        self.assertEqual({line.invoice_id: line.collection_date for line in wizard.line_ids},
                         expected)
        # switched on and off again: the lines go back to their due dates
        wizard.collect_on_one_date = True
        self.assertEqual(len(set(wizard.line_ids.mapped("collection_date"))), 1)
        wizard.collect_on_one_date = False
        self.assertEqual({line.invoice_id: line.collection_date for line in wizard.line_ids},
                         expected)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        self.assertEqual(len(self.blocks(batch)), len(set(expected.values())))

    # ------------------------------------------------------------------
    # the batch's entry
    # ------------------------------------------------------------------

    def test_each_transit_line_carries_its_block_collection_date(self):
        wizard = self.propose_five(collect_on_one_date=False)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        dates = {line.pmt_inf_id: line.collection_date for line in batch.line_ids}
        transit = batch.move_id.line_ids.filtered(lambda aml: aml.debit)
        self.assertEqual(len(transit), len(dates))
        self.assertEqual(
            {aml.name.split()[-1]: aml.date_maturity for aml in transit}, dates)
        self.assertEqual(batch.move_id.date, min(dates.values()))
        # cancelled (set-wise): each reversed transit line keeps its block's date, as
        # Odoo's reversal copies it
        batch.action_cancel()
        reversed_transit = batch.move_id.reversal_move_ids.line_ids.filtered(
            lambda aml: aml.credit and aml.account_id == transit.account_id)
        self.assertEqual(
            {aml.name.split()[-1]: aml.date_maturity for aml in reversed_transit}, dates)

    def test_one_date_entry_is_dated_on_the_collection_date(self):
        batch = self.env["sepa.batch"].browse(
            self.propose_five().action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        run_date = self.earliest()
        self.assertEqual(batch.move_id.date, run_date)
        transit = batch.move_id.line_ids.filtered(lambda aml: aml.debit)
        self.assertEqual(len(transit), 2)
        self.assertEqual(set(transit.mapped("date_maturity")), {run_date})
