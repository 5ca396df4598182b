"""First or recurring (FRST/RCUR): derived from the mandate's debit history, on a real
database. Settling, failing, cancelling and reactivating; the override; the company's
"send first debits as recurring"; the migration of the stored values."""

import importlib.util
from datetime import date
from pathlib import Path
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import tagged

from .common import IBAN_C, IBAN_D
from .test_storno_accounting import StornoCommon

MIGRATION = Path(__file__).parent.parent / "migrations" / "18.0.1.1.0" / "post-migrate.py"


@tagged("post_install", "-at_install")
class TestSequenceType(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_c, cls.mandate_c = cls.create_debtor("Fenna Visser", IBAN_C, name="MDT-C")
        cls.partner_d, cls.mandate_d = cls.create_debtor("Sanne Smit", IBAN_D, name="MDT-D")

    # helpers ------------------------------------------------------------

    def send(self, *invoices):
        batch = self.create_batch(invoice_ids=[Command.set([inv.id for inv in invoices])])
        batch.action_generate()
        batch.action_send()
        return batch

    def settle(self, batch):
        """The bank credits what is still pending in ``batch``: it is settled."""
        pending = batch.line_ids.filtered(lambda line: line.state == "pending")
        self.statement(sum(pending.mapped("amount")), f"SEPA INCASSO {batch.name}")
        self.assertEqual(batch.state, "done")

    def proposed_type(self, invoice):
        wizard = self.propose(invoice_ids=[Command.set(invoice.ids)])
        self.assertEqual(wizard.line_ids.invoice_id, invoice, wizard.excluded_line_ids.reason)
        return wizard.line_ids.sequence_type

    # history ------------------------------------------------------------

    def test_settled_debit_makes_the_next_recurring(self):
        mandate = self.mandate_c
        self.assertRecordValues(mandate, [
            {"sequence_type": "first", "sequence_type_override": False}])
        batch = self.send(self.invoice(self.partner_c, 40.0))
        self.assertEqual(batch.line_ids.sequence_type, "FRST")
        self.assertEqual(mandate.sequence_type, "first")  # sent, not settled yet
        self.settle(batch)
        # read without invalidating: the settlement's line states refresh the value
        self.assertEqual(mandate.sequence_type, "recurring")
        self.assertEqual(self.proposed_type(self.invoice(self.partner_c, 41.0)), "RCUR")
        self.assertEqual(self.mandate_d.sequence_type, "first")

    def test_reject_before_settlement_keeps_first(self):
        inv_c = self.invoice(self.partner_c, 40.0)
        batch = self.send(inv_c, self.invoice(self.partner_d, 20.0))
        storno = self.register(self.line_of(batch, inv_c))
        self.assertFalse(storno.after_settlement)
        self.settle(batch)  # the rest of the batch is credited
        self.assertRecordValues(self.mandate_c | self.mandate_d, [
            {"sequence_type": "first"}, {"sequence_type": "recurring"}])
        storno.action_retry()
        self.assertEqual(self.proposed_type(inv_c), "FRST")

    def test_return_after_settlement_makes_recurring(self):
        inv_c, inv_d = self.invoice(self.partner_c, 40.0), self.invoice(self.partner_d, 20.0)
        batch = self.send(inv_c, inv_d)
        self.settle(batch)
        returned = self.register(self.line_of(batch, inv_c), code="MD06", kind="refund")
        # a reject the bank reports after it credited the batch: settled all the same
        late_reject = self.register(self.line_of(batch, inv_d), code="AC04", kind="reject")
        self.assertEqual((returned | late_reject).mapped("after_settlement"), [True, True])
        self.assertEqual((self.mandate_c | self.mandate_d).mapped("sequence_type"),
                         ["recurring", "recurring"])
        returned._retry()  # a refund: what the dialog's Retry does after its warning
        self.assertEqual(self.proposed_type(inv_c), "RCUR")

    def test_cancelled_batch_has_nothing_to_undo(self):
        inv_c = self.invoice(self.partner_c, 40.0)
        batch = self.send(inv_c)
        Mandate = type(self.env["sepa.mandate"])
        with patch.object(Mandate, "write", autospec=True,
                          side_effect=Mandate.write) as write:
            batch.action_cancel()
        self.assertFalse(write.call_args_list, "no mandate is written")
        self.assertEqual(self.mandate_c.sequence_type, "first")
        self.assertEqual(self.proposed_type(inv_c), "FRST")

    def test_cancelled_storno_counts_no_more(self):
        inv_c, inv_d = self.invoice(self.partner_c, 40.0), self.invoice(self.partner_d, 20.0)
        batch = self.send(inv_c, inv_d)
        # a return booked before the bank's credit was reconciled: the bank settled it
        storno = self.register(self.line_of(batch, inv_c), code="MD06", kind="return")
        self.assertTrue(storno.after_settlement)
        self.assertEqual(self.mandate_c.sequence_type, "recurring")
        Mandate = type(self.env["sepa.mandate"])
        with patch.object(Mandate, "write", autospec=True,
                          side_effect=Mandate.write) as write:
            storno.action_cancel()
        self.assertFalse([call for call in write.call_args_list
                          if "sequence_type_override" in call.args[1]])
        self.assertEqual(storno.state, "cancelled")
        self.assertEqual(self.line_of(batch, inv_c).state, "pending")
        self.assertEqual(self.mandate_c.sequence_type, "first")
        self.settle(batch)
        self.assertEqual(self.mandate_c.sequence_type, "recurring")

    def test_reactivation_starts_first_again(self):
        batch = self.send(self.invoice(self.partner_c, 40.0))
        self.settle(batch)
        mandate = self.mandate_c
        self.assertEqual(mandate.sequence_type, "recurring")
        mandate._revoke(date(2025, 6, 1), "Account closed")
        mandate.sequence_type_override = "recurring"
        mandate._reactivate(date(2025, 9, 1))
        self.assertRecordValues(mandate, [{
            "sequence_type": "first", "sequence_type_override": False,
            "sequence_history_start": batch.line_ids.id}])
        batch = self.send(self.invoice(self.partner_c, 41.0))
        self.assertEqual(batch.line_ids.sequence_type, "FRST")
        self.settle(batch)
        self.assertEqual(mandate.sequence_type, "recurring")

    # override -----------------------------------------------------------

    def test_override_used_by_the_proposal_and_cleared_by_settlement(self):
        settled = self.send(self.invoice(self.partner_c, 40.0))
        self.settle(settled)
        self.mandate_c.sequence_type_override = "first"  # e.g. the control's choice
        self.mandate_d.sequence_type_override = "recurring"
        self.assertEqual((self.mandate_c | self.mandate_d).mapped("sequence_type"),
                         ["first", "recurring"])
        inv_c, inv_d = self.invoice(self.partner_c, 41.0), self.invoice(self.partner_d, 20.0)
        batch = self.send(inv_c, inv_d)
        self.assertEqual([self.line_of(batch, inv).sequence_type for inv in (inv_c, inv_d)],
                         ["FRST", "RCUR"])
        self.assertEqual(self.mandate_c.sequence_type_override, "first")  # until settled
        self.settle(batch)
        self.assertRecordValues(self.mandate_c | self.mandate_d, [
            {"sequence_type_override": False, "sequence_type": "recurring"},
            {"sequence_type_override": False, "sequence_type": "recurring"}])

    def test_setting_the_sequence_type_is_an_override_where_history_differs(self):
        mandate = self.mandate_c
        mandate.sequence_type = "recurring"  # by hand or an import: no history says so
        self.assertEqual(mandate.sequence_type_override, "recurring")
        mandate.sequence_type = "first"  # what the history says: no override
        self.assertFalse(mandate.sequence_type_override)
        Mandate = self.env["sepa.mandate"]
        ids = (self.mandate_c | self.mandate_d | self.mandate_recurring).ids
        self.assertEqual(Mandate.search([("id", "in", ids), ("sequence_type", "=", "first")]),
                         self.mandate_c | self.mandate_d)
        self.assertEqual(
            Mandate.search([("id", "in", ids), ("sequence_type", "!=", "first")]),
            self.mandate_recurring)

    def test_company_sends_first_debits_as_recurring(self):
        inv_c = self.invoice(self.partner_c, 40.0)
        self.company.sepa_always_rcur = True
        self.assertEqual(self.proposed_type(inv_c), "RCUR")
        self.assertEqual(self.mandate_c.sequence_type, "first")  # the history's word
        self.company.sepa_always_rcur = False
        self.assertEqual(self.proposed_type(inv_c), "FRST")

    # speed --------------------------------------------------------------

    def test_one_query_for_all_mandates(self):
        Mandate = self.env["sepa.mandate"]
        settled = self.send(self.invoice(self.partner_c, 40.0))
        self.settle(settled)
        few = self.mandate_c | self.mandate_d
        many = few | Mandate.create([{
            "partner_id": self.partner_c.id, "partner_bank_id": self.mandate_c.partner_bank_id.id,
            "signature_date": "2025-01-15", "state": "active"} for _i in range(30)])

        def queries(mandates):
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            values = Mandate._sepa_next_sequence_types(mandates.ids)
            return self.env.cr.sql_log_count - before, values

        count_few, values = queries(few)
        self.assertEqual(values, {self.mandate_c.id: "recurring", self.mandate_d.id: "first"})
        count_many, values = queries(many)
        self.assertEqual(count_few, count_many)
        self.assertEqual(count_many, 1)
        self.assertEqual(len(values), 32)

    def test_proposal_queries_do_not_grow_with_the_mandates(self):
        def proposal_queries():
            wizard = self.env["sepa.batch.proposal"].create({"journal_id": self.bank_journal.id})
            counts = []
            for _run in range(3):  # the first runs fill the caches
                self.env.flush_all()
                self.env.invalidate_all()
                before = self.env.cr.sql_log_count
                wizard.action_propose()
                self.env.flush_all()
                counts.append(self.env.cr.sql_log_count - before)
            return counts[-1], wizard

        self.invoice(self.partner_c, 40.0)
        count_few, wizard = proposal_queries()
        self.assertEqual(len(wizard.line_ids), 1)
        self.debtors_with_invoices(8)
        count_many, wizard = proposal_queries()
        self.assertEqual(len(wizard.line_ids), 9)
        self.assertEqual(set(wizard.line_ids.mapped("sequence_type")), {"FRST"})
        self.assertEqual(count_few, count_many)

    def debtors_with_invoices(self, count):
        """``count`` customers with an active mandate (FRST) and a posted invoice of
        10.00, 11.00, ..., made set-wise."""
        partners = self.env["res.partner"].create([{
            "name": f"Lid {number}", "country_id": self.env.ref("base.nl").id,
            "city": "Utrecht"} for number in range(count)])
        banks = self.env["res.partner.bank"].create([
            {"acc_number": self._iban(number), "partner_id": partner.id}
            for number, partner in enumerate(partners)])
        self.Mandate.create([
            {"partner_id": bank.partner_id.id, "partner_bank_id": bank.id,
             "signature_date": "2025-01-15"} for bank in banks]).action_activate()
        partners.sepa_collect = True
        self.env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": partner.id,
            "invoice_date": fields.Date.today(),
            "invoice_line_ids": [Command.create({
                "name": "Contribution", "price_unit": 10.0 + number,
                "tax_ids": [Command.clear()]})],
        } for number, partner in enumerate(partners)]).action_post()

    @staticmethod
    def _iban(number):
        bban = f"INGB{number + 1:010d}"
        digits = "".join(str(int(char, 36)) for char in bban + "NL00")
        return f"NL{98 - int(digits) % 97:02d}{bban}"

    # migration ----------------------------------------------------------

    def test_migration_keeps_the_stored_sequence_types(self):
        """Before 18.0.1.1.0 the type was stored and flipped by settlement; afterwards
        every mandate's next debit has the type it had."""
        inv_c, inv_d = self.invoice(self.partner_c, 40.0), self.invoice(self.partner_d, 20.0)
        batch = self.send(inv_c, inv_d)
        reject = self.register(self.line_of(batch, inv_d))  # before settlement
        self.settle(batch)
        _partner, imported = self.create_debtor("Ruud Mulder", self._iban(77))
        partner_e, reactivated = self.create_debtor("Els Bos", self._iban(78))
        self.settle(self.send(self.invoice(partner_e, 12.0)))
        reactivated._revoke(date(2025, 6, 1), "Account closed")
        reactivated._reactivate(date(2025, 9, 1))
        # the data as the previous version left it: no overrides, no history start,
        # no settlement marks on stornos, the stored column
        mandates = self.mandate_c | self.mandate_d | imported | reactivated
        stored = {self.mandate_c: "recurring",  # settled debit
                  self.mandate_d: "first",  # rejected before settlement
                  imported: "recurring",  # imported as recurring, no debit here
                  reactivated: "first"}  # reactivated after a settled debit
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("UPDATE sepa_mandate SET sequence_type_override = NULL, "
                   "sequence_history_start = 0 WHERE id = ANY(%s)", [mandates.ids])
        cr.execute("UPDATE sepa_storno SET after_settlement = NULL")
        cr.execute("ALTER TABLE sepa_mandate ADD COLUMN sequence_type varchar")
        for mandate, value in stored.items():
            cr.execute("UPDATE sepa_mandate SET sequence_type = %s WHERE id = %s",
                       [value, mandate.id])
        self.env.invalidate_all()

        spec = importlib.util.spec_from_file_location("sepa_seq_migration", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(cr, "18.0.1.0.0")
        self.env.invalidate_all()

        self.assertEqual({m: m.sequence_type for m in mandates}, stored)
        self.assertRecordValues(mandates, [
            {"sequence_type_override": False}, {"sequence_type_override": False},
            {"sequence_type_override": "recurring"}, {"sequence_type_override": "first"}])
        self.assertFalse(reject.after_settlement)
        cr.execute("SELECT 1 FROM information_schema.columns WHERE table_name = "
                   "'sepa_mandate' AND column_name = 'sequence_type'")
        self.assertFalse(cr.fetchall(), "the stored column is gone")
        # and from now on the history decides: the reactivated one's next debit settles
        batch = self.send(self.invoice(partner_e, 13.0))
        self.assertEqual(batch.line_ids.sequence_type, "FRST")
        self.settle(batch)
        self.assertRecordValues(reactivated, [
            {"sequence_type": "recurring", "sequence_type_override": False}])

    def test_fields_are_documented(self):
        Mandate = self.env["sepa.mandate"]
        for fname in ("sequence_type", "sequence_type_override", "sequence_history_start"):
            self.assertTrue(Mandate._fields[fname].help, fname)
        self.assertTrue(self.env["sepa.storno"]._fields["after_settlement"].help)
        self.assertEqual(fields.Selection, type(Mandate._fields["sequence_type_override"]))
