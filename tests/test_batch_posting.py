"""Posting a batch: the set-wise path gives exactly what Odoo's reconciliation gives."""

from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import IBAN_C, IBAN_D, SepaBatchCommon, table_rows


@tagged("post_install", "-at_install")
class TestBatchPosting(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_c, cls.mandate_c = cls.create_debtor(
            "Pieter Jansen", IBAN_C, sequence_type="recurring", name="MDT-C")
        cls.partner_d, cls.mandate_d = cls.create_debtor(
            "Anna Bakker", IBAN_D, sequence_type="recurring", name="MDT-D")
        cls.two_terms = cls.env["account.payment.term"].create({
            "name": "Half now, half in 30 days",
            "line_ids": [
                Command.create({"value": "percent", "value_amount": 50, "nb_days": 0}),
                Command.create({"value": "percent", "value_amount": 50, "nb_days": 30}),
            ],
        })

    def split_invoice(self, partner, amount):
        """A posted invoice with two installments."""
        return self.invoice(partner, amount, invoice_date=fields.Date.today(),
                            invoice_payment_term_id=self.two_terms.id)

    def pay(self, invoice, amount=None):
        """Register a payment of ``amount`` (the whole residual by default)."""
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"amount": amount} if amount else {})._create_payments()

    def spy(self, method, calls, key):
        """Patch the set-wise reconciliation's ``method`` to count, per ``key``, the items
        of its argument, calling the original."""
        Setwise = type(self.env["sepa.reconcile.setwise"])
        original = getattr(Setwise, method)

        def spy(service, items, *args, **kwargs):
            calls[key] = len(items)
            return original(service, items, *args, **kwargs)

        return patch.object(Setwise, method, autospec=True, side_effect=spy)

    def assert_same_rows(self, sql, orm, ignore=()):
        """The credits and invoices (with their lines) of two batches are equal, column
        by column, but for their identities."""
        self.assertEqual(self.rows("account_move_line", self.credit_lines(sql).ids),
                         self.rows("account_move_line", self.credit_lines(orm).ids))
        sql_invoices = sql.line_ids.invoice_id.sorted("amount_total")
        orm_invoices = orm.line_ids.invoice_id.sorted("amount_total")
        self.assertEqual(self.rows("account_move", sql_invoices.ids, ignore),
                         self.rows("account_move", orm_invoices.ids, ignore))

        def order(aml):
            return (aml.move_id.amount_total, str(aml.date_maturity), aml.balance)

        self.assertEqual(
            self.rows("account_move_line", sql_invoices.line_ids.sorted(order).ids),
            self.rows("account_move_line", orm_invoices.line_ids.sorted(order).ids))

    def send(self, invoices, **context):
        batch = self.create_batch(invoice_ids=[Command.set(invoices.ids)])
        self.assertEqual(batch.line_ids.invoice_id, invoices)
        batch.action_generate()
        batch.with_context(**context).action_send()
        return batch

    def rows(self, table, ids, ignore=()):
        return table_rows(self.env, table, ids, ignore)

    def credit_lines(self, batch):
        return batch.move_id.line_ids.filtered("sepa_batch_line_id").sorted(
            lambda aml: aml.sepa_batch_line_id.invoice_id.amount_total)

    def test_set_wise_posting_equals_odoo_reconciliation(self):
        batches, setwise = {}, {}
        for path in ("sql", "orm"):
            invoices = self.invoice(self.partner_c, 42.5) | self.split_invoice(self.partner_d, 80.0)
            with self.spy("_reconcile_setwise", setwise, path):
                batches[path] = self.send(invoices, sepa_posting_orm_only=path == "orm")
        self.assertEqual(setwise, {"sql": 2, "orm": 0})  # the switch decides the path
        sql, orm = batches["sql"], batches["orm"]
        self.assertEqual(len(self.credit_lines(sql)), 2)
        self.assertEqual(self.rows("account_move", sql.move_id.ids),
                         self.rows("account_move", orm.move_id.ids))
        self.assert_same_rows(sql, orm)
        for batch in (sql, orm):
            credits = self.credit_lines(batch)
            receivables = batch.line_ids.invoice_id.line_ids.filtered(
                lambda aml: aml.account_type == "asset_receivable")
            self.assertEqual(len(receivables), 3)  # the split invoice has two installments
            self.assertEqual(len(credits.full_reconcile_id), 2)
            self.assertEqual((credits | receivables).mapped("reconciled"), [True] * 5)
            for credit in credits:
                self.assertEqual(credit.matching_number, str(credit.full_reconcile_id.id))
            self.assertEqual(len(credits.matched_debit_ids), 3)
            self.assertEqual(sorted(credits.matched_debit_ids.mapped("amount")),
                             [40.0, 40.0, 42.5])
            self.assertEqual(set(batch.line_ids.invoice_id.mapped("payment_state")), {"in_payment"})
            self.assertEqual(set(batch.line_ids.invoice_id.mapped("sepa_state")), {"in_batch"})

    def test_partly_paid_invoice_goes_through_odoo_reconciliation(self):
        partly = self.invoice(self.partner_c, 100.0)
        self.pay(partly, 30.0)
        self.assertEqual(partly.amount_residual, 70.0)
        simple = self.invoice(self.partner_d, 25.0)
        batch = self.send(partly | simple)
        self.assertEqual(batch.amount_total, 95.0)
        self.assertEqual((partly | simple).mapped("amount_residual"), [0.0, 0.0])
        self.assertEqual(simple.payment_state, "in_payment")
        receivable = partly.line_ids.filtered(lambda aml: aml.account_type == "asset_receivable")
        # One full reconcile holds the payment and the batch credit.
        self.assertTrue(receivable.full_reconcile_id)
        self.assertEqual(len(receivable.full_reconcile_id.reconciled_line_ids), 3)
        transit = batch.move_id.line_ids.filtered(lambda aml: not aml.sepa_batch_line_id)
        self.assertAlmostEqual(sum(transit.mapped("balance")), 95.0)
        self.assertAlmostEqual(sum(batch.move_id.line_ids.mapped("balance")), 0.0)

    def test_cancel_after_set_wise_posting_restores_invoices(self):
        invoices = self.invoice(self.partner_c, 10.0) | self.invoice(self.partner_d, 20.0)
        ranks = (self.partner_c | self.partner_d).mapped("customer_rank")
        batch = self.send(invoices)
        # Like any entry with receivable lines: each customer's rank goes up by one.
        self.assertEqual((self.partner_c | self.partner_d).mapped("customer_rank"),
                         [rank + 1 for rank in ranks])
        self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
        batch.action_cancel()
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(invoices.mapped("amount_residual"), [10.0, 20.0])
        self.assertFalse(invoices.line_ids.full_reconcile_id)
        self.assertEqual(set(invoices.mapped("sepa_state")), {"to_collect"})

    def test_invoice_paid_meanwhile_blocks_posting(self):
        paid = self.invoice(self.partner_c, 15.0)
        other = self.invoice(self.partner_d, 16.0)
        batch = self.create_batch(invoice_ids=[Command.set((paid | other).ids)])
        batch.action_generate()
        self.pay(paid)
        entries = self.env["account.move"].search_count([("sepa_batch_id", "=", batch.id)])
        with self.assertRaisesRegex(UserError, paid.name):
            batch.action_send()
        self.assertEqual(batch.state, "generated")
        self.assertEqual(other.payment_state, "not_paid")
        self.assertEqual(
            self.env["account.move"].search_count([("sepa_batch_id", "=", batch.id)]), entries)

    def test_invoice_partly_paid_meanwhile_blocks_generation(self):
        # The file must not debit 100.00 of an invoice with 70.00 left open.
        partly = self.invoice(self.partner_c, 100.0)
        batch = self.create_batch(invoice_ids=[Command.set(partly.ids)])
        self.pay(partly, 30.0)
        with self.assertRaisesRegex(UserError, rf"{partly.name} \(open 70.00, debit 100.00\)"):
            batch.action_generate()
        self.assertEqual(batch.state, "draft")
        self.assertFalse(batch.file)

    def test_cash_basis_invoice_gets_its_cash_basis_entry(self):
        self.company.tax_exigibility = True
        transition = self.env["account.account"].create({
            "code": "SEPACABA", "name": "VAT to be paid (cash basis)",
            "account_type": "liability_current", "reconcile": True})
        tax_account = self.company_data["default_account_tax_sale"]
        cash_tax = self.env["account.tax"].create({
            "name": "VAT 21% on payment",
            "amount": 21.0,
            "type_tax_use": "sale",
            "tax_exigibility": "on_payment",
            "cash_basis_transition_account_id": transition.id,
            "invoice_repartition_line_ids": [
                Command.create({"repartition_type": "base"}),
                Command.create({"repartition_type": "tax", "account_id": tax_account.id}),
            ],
            "refund_repartition_line_ids": [
                Command.create({"repartition_type": "base"}),
                Command.create({"repartition_type": "tax", "account_id": tax_account.id}),
            ],
        })
        taxed = self.init_invoice("out_invoice", partner=self.partner_c, amounts=[100.0],
                                  taxes=cash_tax, post=True)
        plain = self.invoice(self.partner_d, 20.0)
        batch = self.send(taxed | plain)
        self.assertEqual(batch.amount_total, 141.0)
        self.assertEqual((taxed | plain).mapped("payment_state"), ["in_payment", "in_payment"])
        cash_basis = self.env["account.move"].search(
            [("tax_cash_basis_origin_move_id", "=", taxed.id)])
        self.assertEqual(len(cash_basis), 1)
        vat = cash_basis.line_ids.filtered(lambda aml: aml.account_id == tax_account)
        self.assertAlmostEqual(sum(vat.mapped("balance")), -21.0)

    def test_other_receivable_account_and_hashed_journal(self):
        other = self.env["account.account"].create({
            "code": "SEPA1101", "name": "Receivable members",
            "account_type": "asset_receivable", "reconcile": True})
        self.partner_d.property_account_receivable_id = other
        first = self.invoice(self.partner_c, 12.0)
        second = self.invoice(self.partner_d, 13.0)
        batches = [self.send(first | second)]
        self.bank_journal.restrict_mode_hash_table = True
        batches.append(self.send(self.invoice(self.partner_c, 14.0)
                                 | self.invoice(self.partner_d, 15.0)))
        for batch in batches:
            invoices = batch.line_ids.invoice_id
            self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
            for credit in batch.move_id.line_ids.filtered("sepa_batch_line_id"):
                invoice = credit.sepa_batch_line_id.invoice_id
                receivable = invoice.line_ids.filtered(
                    lambda aml: aml.account_type == "asset_receivable")
                self.assertEqual(credit.account_id, receivable.account_id)
                self.assertEqual(credit.full_reconcile_id, receivable.full_reconcile_id)
                self.assertAlmostEqual(credit.balance, -invoice.amount_total)
            self.assertAlmostEqual(sum(batch.move_id.line_ids.mapped("balance")), 0.0)
        self.assertTrue(batches[1].move_id.inalterable_hash)

    # ------------------------------------------------------------------
    # defects of issue 9
    # ------------------------------------------------------------------

    def test_invoice_partly_paid_meanwhile_blocks_posting(self):
        partly = self.invoice(self.partner_c, 100.0)
        other = self.invoice(self.partner_d, 16.0)
        batch = self.create_batch(invoice_ids=[Command.set((partly | other).ids)])
        batch.action_generate()
        self.pay(partly, 30.0)
        self.assertEqual(partly.amount_residual, 70.0)
        entries = self.env["account.move"].search_count([("sepa_batch_id", "=", batch.id)])
        with self.assertRaisesRegex(UserError, rf"{partly.name} \(open 70\.00, debit 100\.00\)"):
            batch.action_send()
        self.assertEqual(batch.state, "generated")
        self.assertFalse(batch.move_id)
        self.assertEqual((partly | other).mapped("amount_residual"), [70.0, 16.0])
        self.assertEqual(
            self.env["account.move"].search_count([("sepa_batch_id", "=", batch.id)]), entries)

    def test_paid_hook_runs_once_per_invoice_in_mixed_batch(self):
        partly = self.invoice(self.partner_c, 100.0)  # partly paid: Odoo's reconciliation
        self.pay(partly, 30.0)
        simple = self.invoice(self.partner_d, 25.0)  # set-wise
        batch = self.create_batch(invoice_ids=[Command.set((partly | simple).ids)])
        batch.action_generate()
        Move = type(self.env["account.move"])
        original = Move._invoice_paid_hook
        calls = []

        def hook(moves):
            calls.extend(moves.ids)
            return original(moves)

        with patch.object(Move, "_invoice_paid_hook", autospec=True, side_effect=hook):
            batch.action_send()
        self.assertEqual((partly | simple).mapped("payment_state"), ["in_payment", "in_payment"])
        self.assertEqual(sorted(calls), sorted((partly | simple).ids))

    def test_cancel_refused_when_a_block_is_settled(self):
        later_terms = self.env["account.payment.term"].create({
            "name": "60 days", "line_ids": [Command.create({"nb_days": 60})]})
        now = self.invoice(self.partner_c, 40.0)
        later = self.invoice(self.partner_d, 60.0, invoice_date=fields.Date.today(),
                             invoice_payment_term_id=later_terms.id)
        batch = self.create_batch(
            instruction_date=fields.Date.today() + timedelta(days=90),
            invoice_ids=[Command.set((now | later).ids)],
            collect_on_one_date=False)  # each on its due date: two blocks
        self.assertEqual(len(set(batch.line_ids.mapped("collection_date"))), 2)
        batch.action_generate()
        batch.action_send()
        first_block = batch.line_ids.filtered(lambda line: line.invoice_id == now).pmt_inf_id
        second_block = batch.line_ids.filtered(lambda line: line.invoice_id == later).pmt_inf_id
        self.assertNotEqual(first_block, second_block)
        st_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id, "date": fields.Date.today(),
            "payment_ref": first_block, "amount": 40.0})
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(batch.state, "sent")
        with self.assertRaisesRegex(UserError, rf"{first_block}\b") as caught, \
                self.env.cr.savepoint():  # what the request's rollback does
            batch.action_cancel()
        self.assertNotIn(second_block, str(caught.exception))
        self.assertEqual(batch.state, "sent")
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual((now | later).mapped("payment_state"), ["in_payment", "in_payment"])
        self.assertFalse(batch.move_id.reversal_move_ids)

    def test_set_wise_check_stops_inconsistent_posting(self):
        invoices = self.invoice(self.partner_c, 10.0) | self.invoice(self.partner_d, 20.0)
        batch = self.create_batch(invoice_ids=[Command.set(invoices.ids)])
        batch.action_generate()
        Setwise = type(self.env["sepa.reconcile.setwise"])
        original = Setwise._reconcile_setwise
        corruptions = {
            # one invoice left with something open although it is marked paid
            "residual or payment status": SQL(
                "UPDATE account_move SET amount_residual = 5, amount_residual_signed = 5 "
                "WHERE id = %s", invoices[0].id),
            # one credit a euro off: the entry is no longer balanced
            "unbalanced entry": SQL(
                "UPDATE account_move_line SET balance = balance - 1, credit = credit + 1, "
                "amount_residual = 0 WHERE sepa_batch_line_id = %s",
                batch.line_ids[1].id),
        }
        for what, corruption in corruptions.items():

            def corrupt(service, triples, *args, corruption=corruption):
                lines = original(service, triples, *args)
                service.env.execute_query(corruption)
                return lines

            with self.subTest(what=what), \
                    patch.object(Setwise, "_reconcile_setwise", autospec=True,
                                 side_effect=corrupt), \
                    self.assertRaisesRegex(UserError, what), \
                    self.env.cr.savepoint():  # what the request's rollback does
                batch.action_send()
            self.assertEqual(batch.state, "generated")
            self.assertFalse(batch.move_id)
            self.assertEqual(invoices.mapped("amount_residual"), [10.0, 20.0])
            self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        batch.action_send()  # unpatched: posts
        self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})

    def test_reopen_a_set_of_invoices_set_wise_equals_odoo(self):
        batches, setwise = {}, {}
        for path in ("sql", "orm"):
            kept = self.invoice(self.partner_c, 7.0)
            reopened = self.invoice(self.partner_c, 42.5) | self.split_invoice(self.partner_d, 80.0)
            batch = batches[path] = self.send(kept | reopened)
            reopen = batch.line_ids.filtered(lambda line, kept=kept: line.invoice_id != kept)
            with self.spy("_unreconcile_setwise", setwise, path):
                credits = self.env["sepa.batch.posting"].with_context(
                    sepa_posting_orm_only=path == "orm").unreconcile_invoices(reopen)
            self.assertEqual(credits.sepa_batch_line_id, reopen)
            self.assertEqual(kept.payment_state, "in_payment")
        self.assertEqual(setwise, {"sql": 2, "orm": 0})
        sql, orm = batches["sql"], batches["orm"]
        for batch in (sql, orm):
            invoices = batch.line_ids.invoice_id.sorted("amount_total")
            self.assertEqual(invoices.mapped("amount_residual"), [0.0, 42.5, 80.0])
            self.assertEqual(invoices.mapped("payment_state"),
                             ["in_payment", "not_paid", "not_paid"])
            credits = self.credit_lines(batch)
            self.assertEqual(credits.mapped("reconciled"), [True, False, False])
            self.assertEqual(credits.mapped("amount_residual"), [0.0, -42.5, -80.0])
            self.assertEqual(len(credits.matched_debit_ids), 1)
        # Odoo's unreconciliation writes on the invoices, which flags them as modified
        # by hand: a flag that only steers the automatic posting of vendor bills.
        self.assertEqual(orm.line_ids.invoice_id.sorted("amount_total").mapped(
            "is_manually_modified"), [False, True, True])
        self.assert_same_rows(sql, orm, ignore={"is_manually_modified"})

    def test_cancel_mixed_batch_reopens_every_invoice(self):
        partly = self.invoice(self.partner_c, 100.0)  # partly paid: Odoo's way back
        self.pay(partly, 30.0)
        simple = self.invoice(self.partner_d, 25.0)  # set-wise
        batch = self.send(partly | simple)
        reopened = {}
        with self.spy("_unreconcile_setwise", reopened, "set-wise"):
            batch.action_cancel()
        self.assertEqual(reopened, {"set-wise": 1})
        self.assertEqual((partly | simple).mapped("amount_residual"), [70.0, 25.0])
        self.assertEqual((partly | simple).mapped("payment_state"), ["partial", "not_paid"])
        self.assertEqual(set((partly | simple).mapped("sepa_state")), {"to_collect"})
        # The reversal (cancel=True) is reconciled with every line of the entry.
        reversal = batch.move_id.reversal_move_ids
        self.assertEqual(len(reversal), 1)
        self.assertEqual(set(batch.move_id.line_ids.mapped("reconciled")), {True})
        self.assertEqual(batch.move_id.line_ids.full_reconcile_id.reconciled_line_ids,
                         batch.move_id.line_ids | reversal.line_ids)

    # ------------------------------------------------------------------
    # cancel of a sent batch (issue 17)
    # ------------------------------------------------------------------

    def cancel_rows(self, batch):
        """What the cancel of ``batch`` leaves, without identities: the batch entry's and
        its reversal's rows, their lines (the entry's in id order, each reversal line
        after the line it reverses, found by label), the partials and full reconcile of
        each line (the other line by its place in that order), the invoices and their
        lines, the batch lines' states and the mandates' sequence types."""
        move = batch.move_id
        reversal = move.reversal_move_ids
        originals = move.line_ids.sorted("id")
        order = {aml: index for index, aml in enumerate(originals)}
        reversed_lines = reversal.line_ids.sorted(lambda aml: next(
            order[line] for line in originals
            if line.name == aml.name and line.balance == -aml.balance))
        lines = originals | reversed_lines
        place = {aml.id: index for index, aml in enumerate(lines)}
        fulls = {}
        for aml in lines:
            fulls.setdefault(aml.full_reconcile_id.id, len(fulls))
        matches = [
            sorted([(place.get(p.credit_move_id.id), "credit", p.amount, p.debit_amount_currency,
                     p.credit_amount_currency, p.max_date) for p in aml.matched_credit_ids]
                   + [(place.get(p.debit_move_id.id), "debit", p.amount, p.debit_amount_currency,
                       p.credit_amount_currency, p.max_date) for p in aml.matched_debit_ids])
            for aml in lines]
        invoices = batch.line_ids.invoice_id.sorted("id")
        return {
            "entries": self.rows("account_move", (move | reversal).ids, {"reversed_entry_id"}),
            "lines": [self.rows("account_move_line", [aml.id])[0] for aml in lines],
            "partners": lines.mapped(lambda aml: aml.partner_id.id),
            "matches": matches,
            "full reconciles": [fulls[aml.full_reconcile_id.id] for aml in lines],
            "invoices": self.rows("account_move", invoices.ids, {"is_manually_modified"}),
            "invoice lines": self.rows("account_move_line", invoices.line_ids.ids),
            "invoice partials": [
                sorted((p.amount, bool(p.credit_move_id.move_id.origin_payment_id))
                       for p in invoice.line_ids.matched_credit_ids)
                for invoice in invoices],
            "batch lines": batch.line_ids.sorted("id").mapped(
                lambda line: (line.state, line.is_open, line.sequence_type)),
            "mandates": batch.line_ids.mandate_id.sorted("id").mapped("sequence_type"),
        }

    def test_set_wise_cancel_equals_odoo_reversal(self):
        """A batch cancelled set-wise leaves the same rows as Odoo's
        ``_reverse_moves(cancel=True)``: two payment blocks (first and recurring), equal
        and different amounts (Odoo pairs the lines by amount, not line by line), an
        invoice in two installments, a partly paid one (reopened by Odoo's
        unreconciliation in both paths) and one put on hold meanwhile."""
        results, setwise, ranks = {}, {}, {}
        partners = self.debtor | self.partner_c | self.partner_d
        for path in ("sql", "orm"):
            partly = self.invoice(self.partner_d, 100.0)
            self.pay(partly, 30.0)
            invoices = (self.invoice(self.debtor, 20.0)  # first debit: its own block
                        | self.invoices(self.partner_c, [42.5, 42.5, 7.0])
                        | self.split_invoice(self.partner_d, 80.0) | partly)
            batch = self.send(invoices)
            transit = batch.move_id.line_ids - self.credit_lines(batch)
            self.assertEqual(len(self.credit_lines(batch)), 6)
            self.assertGreaterEqual(len(transit), 2)  # first and recurring blocks
            self.assertEqual(set(invoices.mapped("payment_state")), {"in_payment"})
            # put on hold while in the batch: not "To Collect" once cancelled
            invoices[3].write({"sepa_hold": True, "sepa_hold_reason": "Disputed"})
            before = partners.mapped("customer_rank")
            with self.spy("_reconcile_groups_setwise", setwise, path):
                batch.with_context(sepa_posting_orm_only=path == "orm").action_cancel()
            ranks[path] = [rank - old for rank, old in zip(
                partners.mapped("customer_rank"), before, strict=True)]
            # the behaviour both paths give
            self.assertEqual(batch.state, "cancel")
            self.assertEqual(invoices.mapped("amount_residual"),
                             [20.0, 42.5, 42.5, 7.0, 80.0, 70.0])
            self.assertEqual(invoices.mapped("payment_state"), ["not_paid"] * 5 + ["partial"])
            self.assertEqual(invoices.mapped("sepa_state"), ["to_collect"] * 3 + ["on_hold"]
                             + ["to_collect"] * 2)
            reversal = batch.move_id.reversal_move_ids
            self.assertEqual(len(reversal), 1)
            self.assertEqual(set((batch.move_id | reversal).line_ids.mapped("reconciled")), {True})
            self.assertEqual(
                batch.move_id.line_ids.full_reconcile_id.reconciled_line_ids,
                batch.move_id.line_ids | reversal.line_ids)
            self.assertIn(batch.move_id.name, reversal.message_ids[-1:].body)
            self.assertEqual(self.mandate_first.sequence_type, "first")
            results[path] = self.cancel_rows(batch)
        self.assertEqual(setwise, {"sql": 2})  # receivable and transit; never for "orm"
        self.assertEqual(ranks["sql"], ranks["orm"])
        for key in results["orm"]:
            with self.subTest(key):
                self.assertEqual(results["sql"][key], results["orm"][key])
