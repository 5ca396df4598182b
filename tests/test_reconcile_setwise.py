"""The set-wise reconciliation engine gives what Odoo's reconciliation gives: the same
partials, full reconciles, residuals, matching numbers and invoice payment states, for
plain invoices and entries (no direct debit involved)."""

from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import table_rows


@tagged("post_install", "-at_install")
class TestReconcileSetwise(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Setwise = cls.env["sepa.reconcile.setwise"]
        cls.receivable = cls.company_data["default_account_receivable"]
        cls.clearing = cls.env["account.account"].create({
            "name": "Clearing", "code": "109800", "account_type": "asset_current",
            "reconcile": True})
        cls.two_terms = cls.env["account.payment.term"].create({
            "name": "Half now, half in 30 days",
            "line_ids": [
                Command.create({"value": "percent", "value_amount": 50, "nb_days": 0}),
                Command.create({"value": "percent", "value_amount": 50, "nb_days": 30}),
            ],
        })

    def invoice(self, amount, terms=None):
        """A posted customer invoice of ``amount`` (one installment, or the two of
        ``terms``); returns it and its receivable lines."""
        invoice = self.init_invoice("out_invoice", partner=self.partner_a,
                                    invoice_date="2019-01-01", amounts=[amount])
        if terms:
            invoice.invoice_payment_term_id = terms
        invoice.action_post()
        return invoice, invoice.line_ids.filtered(
            lambda aml: aml.display_type == "payment_term").sorted("id")

    def entry(self, balances, account=None):
        """A posted entry with one line per balance on ``account`` (the receivable of
        ``partner_a`` by default), balanced on the assets account; returns those lines."""
        account = account or self.receivable
        move = self.env["account.move"].create({
            "move_type": "entry",
            "journal_id": self.company_data["default_journal_misc"].id,
            "date": "2019-01-15",
            "line_ids": [Command.create({
                "name": f"line {number}", "account_id": account.id,
                "partner_id": self.partner_a.id, "balance": balance,
            }) for number, balance in enumerate(balances)] + [Command.create({
                "name": "counterpart",
                "account_id": self.company_data["default_account_assets"].id,
                "balance": -sum(balances),
            })],
        })
        move.action_post()
        return move.line_ids.filtered(lambda aml: aml.account_id == account).sorted("id")

    def snapshot(self, lines, invoices=None):
        """The reconciliation of ``lines`` without identities, to compare two of the same
        shape: their rows, their partials and their matching numbers with each line
        named by its position in ``lines`` (a partial by its two lines, a full reconcile
        by its lines), and the rows of ``invoices`` (else of the lines' entries)."""
        self.env.flush_all()
        position = {line.id: number for number, line in enumerate(lines)}
        partials = self.env.execute_query_dict(SQL(
            """SELECT * FROM account_partial_reconcile
                WHERE debit_move_id = ANY(%s) OR credit_move_id = ANY(%s)""",
            lines.ids, lines.ids))
        fulls = {}
        for line in lines:
            if line.full_reconcile_id:
                fulls.setdefault(line.full_reconcile_id.id, []).append(position[line.id])
        pair = {partial["id"]: (position.get(partial["debit_move_id"]),
                                position.get(partial["credit_move_id"]))
                for partial in partials}

        def matching(number):
            if not number:
                return number
            if number.startswith("P"):
                return ("P", pair[int(number[1:])])
            return ("full", fulls[int(number)])

        partial_rows = sorted(
            ((pair[partial["id"]], fulls.get(partial["full_reconcile_id"]),
              table_rows(self.env, "account_partial_reconcile", [partial["id"]]))
             for partial in partials), key=lambda item: str(item[0]))
        line_rows = {row_id: row for row_id, row in zip(
            sorted(lines.ids), table_rows(self.env, "account_move_line", lines.ids),
            strict=True)}
        return {
            "lines": [line_rows[line.id] for line in lines],
            "matching": [matching(line.matching_number) for line in lines],
            "full": [fulls.get(line.full_reconcile_id.id) for line in lines],
            "partials": partial_rows,
            # the mark of Odoo's writes on the invoices (a hint for vendor bills)
            "moves": table_rows(self.env, "account_move", (invoices or lines.move_id).ids,
                                {"is_manually_modified"}),
        }

    def paid_invoices(self):
        """One invoice of one installment, one of two (two debits against one credit),
        and an entry with the credit of each."""
        first, first_lines = self.invoice(100.0)
        split, split_lines = self.invoice(80.0, self.two_terms)
        credits = self.entry([-first.amount_total, -split.amount_total])
        return first | split, [(credits[0], first_lines), (credits[1], split_lines)]

    def test_full_reconcile_equals_odoo(self):
        snapshots = {}
        for path in ("sql", "orm"):
            invoices, pairs = self.paid_invoices()
            if path == "sql":
                full_ids = self.Setwise._new_full_reconciles(len(pairs))
                lines = self.Setwise._reconcile_setwise(
                    [(credit.id, receivables.ids, full_id)
                     for (credit, receivables), full_id in zip(pairs, full_ids, strict=True)],
                    "paid")
                self.Setwise._check_reconciliation(
                    pairs[0][0].move_id, lines, invoices, payment_state="paid")
            else:
                for credit, receivables in pairs:
                    (credit | receivables).reconcile()
            lines = self.env["account.move.line"].concat(
                *(credit | receivables for credit, receivables in pairs))
            self.assertEqual(invoices.mapped("payment_state"), ["paid", "paid"])
            self.assertEqual(invoices.mapped("amount_residual"), [0.0, 0.0])
            self.assertEqual(len(lines.full_reconcile_id), 2)
            self.assertEqual(len(lines.matched_credit_ids), 3)  # one per receivable
            snapshots[path] = self.snapshot(lines, invoices)
        self.assertEqual(snapshots["sql"], snapshots["orm"])

    def test_unreconcile_equals_odoo(self):
        snapshots = {}
        for path in ("sql", "orm"):
            invoices, pairs = self.paid_invoices()
            for credit, receivables in pairs:
                (credit | receivables).reconcile()  # as Odoo reconciles them
            credits = self.env["account.move.line"].concat(*(pair[0] for pair in pairs))
            full = credits.full_reconcile_id
            if path == "sql":
                self.Setwise._unreconcile_setwise([
                    {"full_id": credit.full_reconcile_id.id, "credit_id": credit.id,
                     "invoice_id": invoice.id}
                    for (credit, _receivables), invoice in zip(pairs, invoices, strict=True)],
                    credits.move_id)
            else:
                credits.remove_move_reconcile()
            lines = self.env["account.move.line"].concat(
                *(credit | receivables for credit, receivables in pairs))
            self.assertFalse(full.exists())
            self.assertFalse(lines.matched_debit_ids | lines.matched_credit_ids)
            self.assertEqual(invoices.mapped("payment_state"), ["not_paid", "not_paid"])
            self.assertEqual(invoices.mapped("amount_residual"),
                             invoices.mapped("amount_total"))
            snapshots[path] = self.snapshot(lines, invoices)
        self.assertEqual(snapshots["sql"], snapshots["orm"])

    def test_partial_reconcile_equals_odoo(self):
        """Several credits against one debit, which stays open (partial amounts, after
        a partial of Odoo's already); a group that closes its debit is left to Odoo."""
        snapshots = {}
        for path in ("sql", "orm"):
            debits = self.entry([100.0, 100.0], self.clearing)
            credits = self.entry([-30.0, -20.0, -15.0, -50.0, -50.0], self.clearing)
            (debits[0] | credits[0]).reconcile()  # partly reconciled already
            groups = [[debits[0].id, *credits[1:3].ids], [debits[1].id, *credits[3:].ids]]
            if path == "sql":
                left = self.Setwise._reconcile_partial_setwise(
                    groups, debits.move_id | credits.move_id)
                self.assertEqual(left, groups[1:])  # it closes its debit: Odoo's
            else:
                left = groups
            lines = self.env["account.move.line"]
            lines._reconcile_plan([lines.browse(group) for group in left])
            lines = debits | credits
            self.assertEqual(debits[0].amount_residual, 35.0)
            self.assertFalse(debits[0].reconciled)
            self.assertEqual(credits[:3].mapped("reconciled"), [True] * 3)
            self.assertEqual(len(debits[0].matched_credit_ids), 3)
            self.assertTrue(debits[0].matching_number.startswith("P"))
            self.assertEqual(set(credits[:3].mapped("matching_number")),
                             {debits[0].matching_number})
            self.assertTrue(debits[1].full_reconcile_id)
            snapshots[path] = self.snapshot(lines)
        self.assertEqual(snapshots["sql"], snapshots["orm"])
