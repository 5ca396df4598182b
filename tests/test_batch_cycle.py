import base64
from datetime import date, timedelta
from decimal import Decimal

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..sepa import xsd
from ..sepa.calendar import add_business_days, earliest_collection_date
from ..sepa.model import SCHEMES, SEQUENCE_TYPES
from ..sepa.pain008 import WRITER_VERSIONS
from .common import IBAN_C, IBAN_D, SepaBatchCommon

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@tagged("post_install", "-at_install")
class TestBatchCycle(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()
        revoked_partner, revoked = cls.create_debtor("Pieter Jansen", IBAN_C)
        revoked._revoke(date(2025, 6, 1), "Left")
        cls.inv_revoked = cls.invoice(revoked_partner, 10.0)
        to_sign_partner, _mandate = cls.create_debtor("Anna Bakker", IBAN_D, state="draft")
        cls.inv_to_sign = cls.invoice(to_sign_partner, 11.0)
        cls.inv_usd = cls.invoice(cls.debtor, 12.0, currency=cls.env.ref("base.USD"))
        cls.inv_hold = cls.invoice(cls.recurring_partner, 13.0)
        cls.inv_hold.write({"sepa_hold": True, "sepa_hold_reason": "Disputed"})
        term_60 = cls.env["account.payment.term"].create({
            "name": "60 days", "line_ids": [Command.create({"nb_days": 60})]})
        cls.inv_later = cls.invoice(cls.debtor, 14.0, invoice_date=fields.Date.today(),
                                    invoice_payment_term_id=term_60.id)
        cls.env.ref("base.USD").active = True

    def earliest(self):
        return earliest_collection_date(fields.Date.context_today(self.env.user), "CORE",
                                        bank_cutoff_days=1)

    # ------------------------------------------------------------------
    # proposal
    # ------------------------------------------------------------------

    def test_invoice_mandate_and_status(self):
        self.assertRecordValues(
            self.inv_first_1 | self.inv_recurring | self.inv_hold | self.inv_revoked,
            [
                {"sepa_mandate_id": self.mandate_first.id, "sepa_state": "to_collect"},
                {"sepa_mandate_id": self.mandate_recurring.id, "sepa_state": "to_collect"},
                {"sepa_mandate_id": self.mandate_recurring.id, "sepa_state": "on_hold"},
                {"sepa_mandate_id": self.inv_revoked.sepa_mandate_id.id,
                 "sepa_state": "mandate_revoked"},
            ])
        self.assertEqual(self.inv_revoked.sepa_mandate_id.state, "revoked")
        self.inv_hold.action_sepa_release()
        self.assertRecordValues(self.inv_hold, [
            {"sepa_hold": False, "sepa_hold_reason": False, "sepa_state": "to_collect"}])
        self.assertFalse(self.partner_a.sepa_collect)

    def test_proposal_lists_collectable_and_excluded_with_reasons(self):
        wizard = self.propose()
        self.assertEqual(
            wizard.line_ids.invoice_id,
            self.inv_first_1 | self.inv_first_2 | self.inv_recurring,
        )
        first = wizard.line_ids.filtered(lambda line: line.invoice_id == self.inv_first_1)
        earliest = self.earliest()
        self.assertRecordValues(first, [{
            "mandate_id": self.mandate_first.id,
            "amount": 100.0,
            "sequence_type": "FRST",
            "collection_date": earliest,
            "selected": True,
        }])
        self.assertLess(first.latest_delivery_date, earliest)
        reasons = {line.invoice_id: line.reason for line in wizard.excluded_line_ids}
        self.assertEqual(reasons, {
            self.inv_revoked: "Mandate revoked",
            self.inv_to_sign: "Mandate to sign",
            self.inv_usd: "Not in euro",
            self.inv_hold: "On hold: Disputed",
        })
        self.assertNotIn(self.inv_later, wizard.line_ids.invoice_id
                         | wizard.excluded_line_ids.invoice_id)
        self.assertEqual(wizard.selected_count, 3)
        self.assertAlmostEqual(wizard.selected_amount, 180.25)
        self.assertFalse(wizard.delivery_date_passed)

    def test_exclusion_reasons_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        self.env.user.lang = "nl_NL"
        wizard = self.env["sepa.batch.proposal"].with_context(lang="nl_NL").create(
            {"journal_id": self.bank_journal.id})
        wizard.action_propose()
        reasons = {line.invoice_id: line.reason for line in wizard.excluded_line_ids}
        self.assertEqual(reasons[self.inv_usd], "Niet in euro")
        self.assertEqual(reasons[self.inv_hold], "Vastgehouden: Disputed")

    def test_shift_late_collection_dates(self):
        wizard = self.propose()
        line = wizard.line_ids[0]
        line.write({"collection_date": date(2025, 1, 10)})
        self.assertTrue(wizard.delivery_date_passed)
        wizard.action_shift_dates()
        self.assertEqual(line.collection_date, self.earliest())
        self.assertFalse(wizard.delivery_date_passed)

    def test_instruction_date_limits_the_proposal(self):
        wizard = self.propose(instruction_date=fields.Date.today() + timedelta(days=90),
                              collect_on_one_date=False)  # each on its due date
        self.assertIn(self.inv_later, wizard.line_ids.invoice_id)
        later = wizard.line_ids.filtered(lambda line: line.invoice_id == self.inv_later)
        self.assertEqual(later.collection_date, self.inv_later.invoice_date_due)
        with self.assertRaisesRegex(Exception, "at most one year ahead"):
            self.propose(instruction_date=fields.Date.today() + timedelta(days=400))

    def test_missing_creditor_identifier_creates_nothing(self):
        self.company.sepa_creditor_identifier = False
        wizard = self.env["sepa.batch.proposal"].create({"journal_id": self.bank_journal.id})
        with self.assertRaisesRegex(UserError, "has no SEPA creditor identifier"):
            wizard.action_propose()
        with self.assertRaisesRegex(UserError, "has no SEPA creditor identifier"):
            wizard.action_create_batch()
        self.assertFalse(self.env["sepa.batch"].search([]))

    def test_selections_are_the_toolkits_lists(self):
        expected = {
            ("sepa.batch", "pain_version"): WRITER_VERSIONS,
            ("res.company", "sepa_pain_version"): WRITER_VERSIONS,
            ("account.journal", "sepa_pain_version"): WRITER_VERSIONS,
            ("sepa.batch", "scheme"): SCHEMES,
            ("sepa.mandate", "scheme"): SCHEMES,
            ("sepa.batch.proposal", "scheme"): SCHEMES,
            ("sepa.batch.line", "sequence_type"): SEQUENCE_TYPES,
            ("sepa.batch.proposal.line", "sequence_type"): SEQUENCE_TYPES,
        }
        for (model, fname), codes in expected.items():
            selection = self.env[model]._fields[fname].selection
            self.assertEqual(tuple(code for code, _label in selection), codes, (model, fname))

    # ------------------------------------------------------------------
    # batch, file
    # ------------------------------------------------------------------

    def test_batch_merges_first_debits_and_writes_valid_file(self):
        self.mandate_recurring.partner_bank_id = self.env["res.partner.bank"].create({
            "acc_number": "NL60INGB0009988776", "partner_id": self.recurring_partner.id})
        batch = self.create_batch()
        self.assertRecordValues(batch, [{
            "state": "draft", "line_count": 3, "debit_count": 2, "amount_total": 180.25,
            "pain_version": "pain.008.001.02", "collection_date": self.earliest(),
        }])
        lines = batch.line_ids
        merged = lines.filtered(lambda line: line.mandate_id == self.mandate_first)
        self.assertEqual(len(set(merged.mapped("end_to_end_id"))), 1)
        self.assertRegex(merged[0].end_to_end_id, rf"^{batch.name}-\d$")
        self.assertEqual(merged[0].remittance,
                         f"{self.inv_first_1.name} {self.inv_first_2.name}")
        self.assertEqual(self.inv_first_1.sepa_state, "in_batch")

        batch.action_generate()
        data = base64.b64decode(batch.file)
        xsd.validate(data, "pain.008.001.02")
        root = etree.fromstring(data)
        self.assertEqual(root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS), batch.name)
        self.assertEqual(root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS), "2")
        self.assertEqual(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS), "180.25")
        blocks = {info.findtext(".//p:SeqTp", namespaces=NS): info
                  for info in root.iterfind(".//p:PmtInf", namespaces=NS)}
        self.assertEqual(set(blocks), {"FRST", "RCUR"})
        frst = blocks["FRST"]
        self.assertEqual(frst.findtext("p:CtrlSum", namespaces=NS), "150.25")
        self.assertEqual(frst.findtext(".//p:InstdAmt", namespaces=NS), "150.25")
        self.assertEqual(frst.findtext(".//p:MndtId", namespaces=NS), "MDT-FIRST")
        self.assertEqual(frst.findtext(".//p:ReqdColltnDt", namespaces=NS),
                         str(self.earliest()))
        self.assertEqual(frst.findtext(".//p:Ustrd", namespaces=NS),
                         f"{self.inv_first_1.name} {self.inv_first_2.name}")
        self.assertEqual(frst.findtext(".//p:CdtrSchmeId//p:Othr/p:Id", namespaces=NS),
                         "NL69ZZZ123456780000")
        rcur = blocks["RCUR"]
        self.assertEqual(rcur.findtext(".//p:AmdmntInd", namespaces=NS), "true")
        # The debtor moved from ABN AMRO to ING: another bank, so SMNDA.
        self.assertEqual(rcur.findtext(".//p:OrgnlDbtrAgt//p:Id", namespaces=NS), "SMNDA")
        self.assertIsNone(rcur.find(".//p:OrgnlDbtrAcct", namespaces=NS))
        frst_id = frst.findtext("p:PmtInfId", namespaces=NS)
        self.assertEqual(frst_id, f"{batch.name}-P1")
        self.assertEqual(set(merged.mapped("pmt_inf_id")), {frst_id})

        # Regenerating keeps the identifiers.
        ids_before = batch.line_ids.mapped("end_to_end_id")
        batch.action_generate()
        self.assertEqual(batch.line_ids.mapped("end_to_end_id"), ids_before)
        self.assertEqual(etree.fromstring(base64.b64decode(batch.file))
                         .findtext(".//p:GrpHdr/p:MsgId", namespaces=NS), batch.name)

    def test_merge_all_sequence_types_option(self):
        self.invoice(self.recurring_partner, 5.0)
        batch = self.create_batch()
        self.assertEqual(batch.debit_count, 3)
        batch.action_cancel()
        self.company.sepa_merge_all_sequence_types = True
        self.assertEqual(self.create_batch().debit_count, 2)

    def test_invoice_in_open_batch_not_proposed_again(self):
        batch = self.create_batch()
        wizard = self.propose()
        self.assertFalse(wizard.line_ids)
        self.assertIn(f"Already in open batch {batch.name}",
                      wizard.excluded_line_ids.mapped("reason"))
        with self.assertRaisesRegex(UserError, "Select at least one invoice"):
            wizard.action_create_batch()

    def test_first_debit_pending_blocks_new_first_debit(self):
        batch = self.create_batch(invoice_ids=self.inv_first_1.ids)
        wizard = self.propose()
        reasons = {line.invoice_id: line.reason for line in wizard.excluded_line_ids}
        self.assertEqual(reasons[self.inv_first_2],
                         "First debit of the mandate still pending in another batch")
        batch.action_cancel()
        self.assertIn(self.inv_first_2, self.propose().line_ids.invoice_id)

    # ------------------------------------------------------------------
    # accounting, settlement, cancel
    # ------------------------------------------------------------------

    def send_batch(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_send()
        return batch

    def test_send_posts_one_entry_and_pays_invoices(self):
        batch = self.send_batch()
        move = batch.move_id
        self.assertEqual(batch.state, "sent")
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.journal_id, self.bank_journal)
        self.assertEqual(len(move.line_ids), 3 + 2)  # 3 invoices, 2 payment blocks
        transit = self.company._sepa_transit_account(self.bank_journal)
        transit_lines = move.line_ids.filtered(lambda aml: aml.account_id == transit)
        self.assertAlmostEqual(sum(transit_lines.mapped("balance")), 180.25)
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0)
        invoices = self.inv_first_1 | self.inv_first_2 | self.inv_recurring
        # Paid by the batch, not yet credited by the bank: "In Payment" until settled.
        self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
        self.assertEqual(set(invoices.mapped("amount_residual")), {0.0})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"in_batch"})
        self.assertEqual(self.mandate_first.sequence_type, "first")

    def test_statement_line_settles_batch(self):
        batch = self.send_batch()
        st_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id,
            "date": fields.Date.today(),
            "payment_ref": f"SEPA INCASSO {batch.name}",
            "amount": 180.25,
        })
        self.assertTrue(st_line.is_reconciled)
        earliest = self.earliest()
        self.assertRecordValues(batch, [{"state": "done"}])
        self.assertEqual(set(batch.line_ids.mapped("state")), {"collected"})
        self.assertRecordValues(self.mandate_first | self.mandate_recurring, [
            {"sequence_type": "recurring", "last_debit_date": earliest},
            {"sequence_type": "recurring", "last_debit_date": earliest},
        ])
        invoices = self.inv_first_1 | self.inv_first_2 | self.inv_recurring
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"collected"})
        with self.assertRaisesRegex(UserError, f"Cannot cancel {batch.name}: it is Settled"):
            batch.action_cancel()

    def test_settled_on_is_the_banks_date(self):
        """"Settled On" is the date the bank credited the batch (the statement line's),
        not the day the credit was reconciled; the last one of several blocks."""
        batch = self.send_batch()
        blocks = sorted(set(batch.line_ids.mapped("pmt_inf_id")))
        StLine = self.env["account.bank.statement.line"].with_context(sepa_skip_match=True)
        credited = self.earliest() + timedelta(days=1)
        for days, block in enumerate(blocks):
            StLine.create({
                "journal_id": self.bank_journal.id, "payment_ref": block,
                "date": credited + timedelta(days=days),
                "amount": sum(batch.line_ids.filtered(
                    lambda line, b=block: line.pmt_inf_id == b).mapped("amount"))})
        batch.action_match_statements()
        self.assertRecordValues(batch, [{
            "state": "done", "settled_date": credited + timedelta(days=len(blocks) - 1)}])

    def test_statement_per_payment_block(self):
        batch = self.send_batch()
        blocks = sorted(set(batch.line_ids.mapped("pmt_inf_id")))
        amounts = {block: sum(batch.line_ids.filtered(
            lambda line, b=block: line.pmt_inf_id == b).mapped("amount")) for block in blocks}
        StLine = self.env["account.bank.statement.line"]
        wrong = StLine.create({"journal_id": self.bank_journal.id, "amount": 999.0,
                               "payment_ref": blocks[0], "date": fields.Date.today()})
        self.assertFalse(wrong.is_reconciled)
        StLine.create({"journal_id": self.bank_journal.id, "amount": amounts[blocks[0]],
                       "payment_ref": blocks[0], "date": fields.Date.today()})
        self.assertEqual(batch.state, "sent")
        late = StLine.with_context(sepa_skip_match=True).create({
            "journal_id": self.bank_journal.id, "amount": amounts[blocks[1]],
            "payment_ref": f"Batch {blocks[1]}", "date": fields.Date.today()})
        batch.action_match_statements()
        self.assertTrue(late.is_reconciled)
        self.assertEqual(batch.state, "done")

    def test_file_carries_the_ids_of_the_lines(self):
        batch = self.create_batch()
        composed = batch.line_ids.read(["pmt_inf_id", "end_to_end_id", "write_date"])
        batch.action_generate()
        # Generation writes no identifier: the file uses what the lines carry.
        self.assertEqual(batch.line_ids.read(["pmt_inf_id", "end_to_end_id", "write_date"]),
                         composed)
        root = etree.fromstring(base64.b64decode(batch.file))
        in_file = {
            info.findtext("p:PmtInfId", namespaces=NS): {
                e2e.text for e2e in info.iterfind(".//p:EndToEndId", namespaces=NS)}
            for info in root.iterfind(".//p:PmtInf", namespaces=NS)
        }
        in_lines = {}
        for line in batch.line_ids:
            in_lines.setdefault(line.pmt_inf_id, set()).add(line.end_to_end_id)
        self.assertEqual(in_file, in_lines)

    def eleven_block_batch(self):
        """A sent batch of 11 recurring debits of 1.00 … 11.00, one per collection date:
        blocks P1 … P11 in date order."""
        invoices = self.invoices(self.recurring_partner, [float(amount) for amount in range(1, 12)])
        wizard = self.propose(invoice_ids=invoices.ids)
        lines = wizard.line_ids.sorted(lambda line: line.invoice_id.id)
        for days, line in enumerate(lines):
            line.collection_date = add_business_days(self.earliest(), days)
        batch = self.env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        self.assertEqual(len(set(batch.line_ids.mapped("pmt_inf_id"))), 11)
        return batch

    def test_statement_mentioning_block_p1_does_not_settle_p10(self):
        batch = self.eleven_block_batch()
        p1, p10 = f"{batch.name}-P1", f"{batch.name}-P10"
        self.assertEqual(batch.line_ids.filtered(lambda line: line.pmt_inf_id == p10).amount,
                         10.0)
        transit = batch._transit_lines()
        p10_line = transit.filtered(lambda aml: aml.name.endswith(p10))
        StLine = self.env["account.bank.statement.line"]
        wrong = StLine.create({"journal_id": self.bank_journal.id, "amount": 10.0,
                               "payment_ref": f"SEPA {p1}", "date": fields.Date.today()})
        self.assertFalse(wrong.is_reconciled)
        self.assertFalse(p10_line.reconciled)
        right = StLine.create({"journal_id": self.bank_journal.id, "amount": 10.0,
                               "payment_ref": f"SEPA {p10}.", "date": fields.Date.today()})
        self.assertTrue(right.is_reconciled)
        self.assertTrue(p10_line.reconciled)
        self.assertEqual(transit.filtered("reconciled"), p10_line)

    def test_cancel_sent_batch_restores_invoices(self):
        batch = self.send_batch()
        move = batch.move_id
        batch.action_cancel()
        invoices = self.inv_first_1 | self.inv_first_2 | self.inv_recurring
        self.assertEqual(batch.state, "cancel")
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(invoices.mapped("amount_residual"), [100.0, 50.25, 30.0])
        self.assertEqual(set(invoices.mapped("sepa_state")), {"to_collect"})
        self.assertEqual(move.payment_state if move.is_invoice() else move.state, "posted")
        self.assertTrue(move.reversal_move_ids)
        self.assertEqual(self.mandate_first.sequence_type, "first")
        self.assertFalse(self.mandate_first.last_debit_date)
        # The invoices can be collected again.
        self.assertEqual(self.propose().line_ids.invoice_id, invoices)

    def test_large_batch_runs_in_background(self):
        self.company.sepa_background_threshold = 2
        batch = self.create_batch()
        batch.action_generate()
        self.assertRecordValues(batch, [{"state": "draft", "job_state": "generate"}])
        self.env["sepa.batch"]._cron_process_jobs()
        self.assertRecordValues(batch, [{"state": "generated", "job_state": False}])
        batch.action_send()
        self.assertEqual(batch.job_state, "send")
        self.env["sepa.batch"]._cron_process_jobs()
        self.assertRecordValues(batch, [{"state": "sent", "job_state": False}])
        self.assertTrue(batch.move_id)

    def test_amount_decimal_exact(self):
        batch = self.create_batch()
        debits = batch._prepare_debits(batch.line_ids)
        self.assertEqual(sum(debit.amount for debit in debits.values()), Decimal("180.25"))

    def test_invoice_mandate_locked_while_in_batch(self):
        self.inv_first_1.sepa_mandate_id = self.mandate_first  # editable while open
        self.create_batch()
        with self.assertRaisesRegex(UserError, "cannot change: it is paid or in a direct"):
            self.inv_first_1.sepa_mandate_id = self.mandate_recurring

    def test_hold_button_keeps_invoice_out(self):
        self.inv_recurring.action_sepa_hold()
        self.assertEqual(self.inv_recurring.sepa_state, "on_hold")
        reasons = {line.invoice_id: line.reason for line in self.propose().excluded_line_ids}
        self.assertEqual(reasons[self.inv_recurring], "On hold: no reason given")

    # ------------------------------------------------------------------
    # mandates that changed after the batch was made
    # ------------------------------------------------------------------

    def test_revoked_or_expired_mandate_stops_generation(self):
        batch = self.create_batch()
        self.mandate_recurring._revoke(fields.Date.today(), "Left")
        with self.assertRaises(UserError) as caught:
            batch.action_generate()
        message = str(caught.exception)
        self.assertIn(f"Cannot generate the file of {batch.name}", message)
        self.assertIn(f"{self.inv_recurring.name} (mandate MDT-RCUR: Revoked)", message)
        self.assertNotIn(self.inv_first_1.name, message)
        self.assertRecordValues(batch, [{"state": "draft", "file": False}])
        self.mandate_recurring._reactivate(fields.Date.today())
        self.mandate_first._expire()
        with self.assertRaisesRegex(UserError, "mandate MDT-FIRST: Expired"):
            batch.action_generate()

    def test_closed_mandate_stops_send(self):
        batch = self.create_batch()
        batch.action_generate()
        self.mandate_first.action_close()
        with self.assertRaises(UserError) as caught:
            batch.action_send()
        message = str(caught.exception)
        self.assertIn(f"Cannot mark as sent {batch.name}", message)
        for invoice in self.inv_first_1 | self.inv_first_2:
            self.assertIn(f"{invoice.name} (mandate MDT-FIRST: Closed)", message)
        self.assertRecordValues(batch, [{"state": "generated", "move_id": False}])
        invoices = self.inv_first_1 | self.inv_first_2 | self.inv_recurring
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})

    # ------------------------------------------------------------------
    # background jobs
    # ------------------------------------------------------------------

    def test_failing_background_job_does_not_wedge_the_queue(self):
        self.company.sepa_background_threshold = 0
        failing = self.create_batch(invoice_ids=self.inv_recurring.ids)
        waiting = self.create_batch(invoice_ids=(self.inv_first_1 | self.inv_first_2).ids)
        (failing | waiting).action_generate()
        self.assertEqual((failing | waiting).mapped("job_state"), ["generate", "generate"])
        self.mandate_recurring._revoke(fields.Date.today(), "Left")

        Batch = self.env["sepa.batch"]
        Batch._cron_process_jobs()  # the cron does not fail
        self.assertRecordValues(failing, [{"state": "draft", "job_state": False, "file": False}])
        self.assertIn(f"{self.inv_recurring.name} (mandate MDT-RCUR: Revoked)", failing.job_error)
        self.assertIn("Background job failed (Generating the file)",
                      failing.message_ids[0].body)
        self.assertIn("MDT-RCUR", failing.message_ids[0].body)
        Batch._cron_process_jobs()  # the next one is processed
        self.assertRecordValues(waiting, [{"state": "generated", "job_state": False,
                                           "job_error": False}])
        self.assertTrue(waiting.file)
        # Fixed, tried again: the buttons work and the error goes.
        self.mandate_recurring._reactivate(fields.Date.today())
        failing.action_generate()
        self.assertRecordValues(failing, [{"job_state": "generate", "job_error": False}])
        Batch._cron_process_jobs()
        self.assertRecordValues(failing, [{"state": "generated", "job_state": False}])

    def test_failing_background_send_is_undone(self):
        self.company.sepa_background_threshold = 0
        batch = self.create_batch()
        batch.with_context(sepa_no_background=True).action_generate()
        batch.action_send()
        self.mandate_first.action_close()
        self.env["sepa.batch"]._cron_process_jobs()
        self.assertRecordValues(batch, [{"state": "generated", "job_state": False,
                                         "move_id": False}])
        self.assertIn("Cannot mark as sent", batch.job_error)
        self.assertFalse(self.env["account.move"].search([("sepa_batch_id", "=", batch.id)]))

    # ------------------------------------------------------------------
    # settlement
    # ------------------------------------------------------------------

    def test_settlement_clears_only_the_amendments_it_reported(self):
        # Reported by the file: the recurring mandate's new account.
        self.mandate_recurring.partner_bank_id = self.env["res.partner.bank"].create({
            "acc_number": "NL60INGB0009988776", "partner_id": self.recurring_partner.id})
        batch = self.create_batch()
        batch.action_generate()
        # Recorded after the file was made: the bank hears of it with the next debit.
        self.mandate_first.partner_bank_id = self.env["res.partner.bank"].create({
            "acc_number": "NL39RABO0300065264", "partner_id": self.debtor.id})
        self.assertEqual(self.mandate_first.original_iban, "NL20INGB0001234567")
        batch.action_send()
        self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id,
            "date": fields.Date.today(),
            "payment_ref": f"SEPA INCASSO {batch.name}",
            "amount": 180.25,
        })
        self.assertEqual(batch.state, "done")
        self.assertRecordValues(self.mandate_recurring | self.mandate_first, [
            {"original_iban": False, "is_amended": False},
            {"original_iban": "NL20INGB0001234567", "is_amended": True},
        ])
        # The next file reports it.
        self.invoice(self.debtor, 20.0)
        next_batch = self.create_batch()
        self.assertEqual(next_batch.line_ids.mandate_id, self.mandate_first)
        next_batch.action_generate()
        root = etree.fromstring(base64.b64decode(next_batch.file))
        self.assertEqual(root.findtext(".//p:AmdmntInd", namespaces=NS), "true")

    def test_account_changed_again_after_a_reported_amendment(self):
        """Reported B → C in the file, then changed to D before settlement: once settled
        the bank knows C, so the next debit reports C → D (not nothing, not B → D)."""
        mandate, partner = self.mandate_recurring, self.recurring_partner
        old_iban = mandate.original_iban or mandate.partner_bank_id.sanitized_acc_number
        mandate.partner_bank_id = self.env["res.partner.bank"].create({
            "acc_number": "NL60INGB0009988776", "partner_id": partner.id})
        batch = self.create_batch(partner_ids=partner.ids)
        batch.action_generate()
        self.assertEqual(batch.line_ids.mapped("original_iban"), [old_iban])
        self.assertEqual(batch.line_ids.mapped("amended_iban"), ["NL60INGB0009988776"])
        mandate.partner_bank_id = self.env["res.partner.bank"].create({  # same bank
            "acc_number": "NL36INGB0007654321", "partner_id": partner.id})
        self.assertEqual(mandate.original_iban, old_iban)  # the first change is kept
        batch.action_send()
        batch._settle()
        self.assertEqual(batch.state, "done")
        self.assertRecordValues(mandate, [
            {"original_iban": "NL60INGB0009988776", "is_amended": True}])
        self.invoice(partner, 20.0)
        next_batch = self.create_batch(partner_ids=partner.ids)
        next_batch.action_generate()
        root = etree.fromstring(base64.b64decode(next_batch.file))
        self.assertEqual(root.findtext(".//p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS),
                         "NL60INGB0009988776")

    def test_last_debit_date_never_goes_back(self):
        later = self.invoice(self.recurring_partner, 40.0, invoice_date=fields.Date.today(),
                             invoice_payment_term_id=self.inv_later.invoice_payment_term_id.id)
        first = self.create_batch(invoice_ids=later.ids,
                                  instruction_date=later.invoice_date_due,
                                  collect_on_one_date=False)
        self.assertGreater(first.collection_date, self.earliest())
        second = self.create_batch(invoice_ids=self.inv_recurring.ids)
        for batch in (first, second):
            batch.action_generate()
            batch.action_send()
        first._settle()
        second._settle()  # settled later, collected earlier
        self.assertEqual(self.mandate_recurring.last_debit_date, later.invoice_date_due)
