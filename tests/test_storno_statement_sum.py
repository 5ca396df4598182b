"""One bank debit for several returns: Dutch banks often book the failed debits of one
day as ONE statement line (e.g. -225.50 for 100.00 and 125.50). Whether the return file
was imported first (the stornos exist, their outstanding lines open) or not (the line's
details name the debits), the line is reconciled with all of them, never guessed."""

from odoo import fields
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import IBAN_C, IBAN_D, ReturnImportHelpers
from .test_return_import import camt054, entry, return_tx
from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoStatementSum(ReturnImportHelpers, StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sepa_storno_charge_amount = 0.0
        cls.StLine = cls.env["account.bank.statement.line"]
        cls.partner_c, cls.mandate_c = cls.create_debtor("Kees Jansen", IBAN_C, name="MDT-C")
        cls.partner_d, cls.mandate_d = cls.create_debtor("Els Bakker", IBAN_D, name="MDT-D")
        cls.inv_a = cls.invoice(cls.debtor, 100.0)
        cls.inv_b = cls.invoice(cls.recurring_partner, 125.5)
        cls.inv_c = cls.invoice(cls.partner_c, 25.5)
        cls.inv_d = cls.invoice(cls.partner_d, 200.0)
        # sent and settled (the bank credited 451.00): made once, each test rolled back
        cls.batch = cls.send_batch()
        cls.statement(451.0, cls.batch.name)
        assert cls.batch.state == "done"
        cls.today = fields.Date.today()
        cls.fee_product = cls._create_product(name="Storno fee", type="service",
                                              lst_price=7.5)
        cls.company.write({"sepa_storno_fee_invoice": True,
                           "sepa_storno_fee_product_id": cls.fee_product.id})

    # helpers

    def e2e(self, invoice):
        return self.line_of(self.batch, invoice).end_to_end_id

    def import_returns(self, invoices, msg_id, ref, reason="AM04", charges=None):
        """The bank's camt.054 of ``invoices``' debits returned, as one entry, imported;
        ``charges`` on the first."""
        txs = [return_tx(self.e2e(invoice), invoice.amount_total, reason,
                         ref=f"{ref}-{index}", charges=None if index else charges)
               for index, invoice in enumerate(invoices)]
        wizard = self.preview(camt054(
            [entry(txs, sum(invoices.mapped("amount_total")), ref, day=str(self.today))],
            msg_id=msg_id), filename=f"{msg_id}.xml")
        wizard.action_apply()
        stornos = self.Storno.search([("invoice_ids", "in", invoices.ids)])
        self.assertEqual(len(stornos), len(invoices))
        self.assertFalse(stornos.statement_line_id)
        return stornos

    def bank_debit(self, amount, **values):
        return self.StLine.create({
            "journal_id": self.bank_journal.id, "date": self.today, "amount": -amount,
            **values})

    def counterpart_lines(self, st_line):
        return st_line.move_id.line_ids.filtered(
            lambda aml: aml.account_id != self.bank_journal.default_account_id)

    def chatter(self, st_line):
        return [html2plaintext(message.body) for message in st_line.move_id.message_ids
                if message.message_type == "notification"]

    def consequences(self):
        """Stornos, fee lines and score events: what must never be made twice."""
        return (self.Storno.search_count([]),
                self.env["account.move.line"].search_count(
                    [("sepa_fee_storno_id", "!=", False)]),
                self.env["sepa.storno.event"].search_count([]))

    def assert_reconciled_with(self, st_line, stornos):
        self.assertTrue(st_line.is_reconciled)
        [counterpart] = self.counterpart_lines(st_line)
        self.assertTrue(counterpart.reconciled)
        self.assertEqual(counterpart.account_id,
                         self.company._sepa_storno_account(self.bank_journal))
        self.assertEqual(counterpart.full_reconcile_id.reconciled_line_ids.move_id,
                         st_line.move_id | stornos.move_id)
        self.assertEqual(stornos.statement_line_id, st_line)
        self.assertFalse(self.chatter(st_line))

    def assert_left_open(self, st_line, *why):
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(self.counterpart_lines(st_line).account_id,
                         self.bank_journal.suspense_account_id)
        self.assertFalse(self.Storno.search([("statement_line_id", "=", st_line.id)]))
        [note] = self.chatter(st_line)
        for text in why:
            self.assertIn(text, note)

    def assert_failed(self, *invoices):
        for invoice in invoices:
            self.assertRecordValues(invoice, [{
                "amount_residual": invoice.amount_total, "payment_state": "not_paid",
                "sepa_state": "failed"}])

    # ------------------------------------------------------------------
    # the return file came first: the line is reconciled with its stornos
    # ------------------------------------------------------------------

    def test_file_then_one_bank_debit_naming_the_file(self):
        stornos = self.import_returns(self.inv_a | self.inv_b, "NTF-SUM-1", "RTN-SUM-1")
        before = self.consequences()
        self.assertEqual(before[1], 2)  # one fee invoice line per storno
        st_line = self.bank_debit(225.5, payment_ref="SEPA STORNO NTF-SUM-1 2 POSTEN")
        self.assert_reconciled_with(st_line, stornos)
        self.assertEqual(self.consequences(), before)  # no storno, fee or point twice
        self.assert_failed(self.inv_a, self.inv_b)
        self.assertEqual(self.inv_c.payment_state, "paid")

    def test_file_then_one_bank_debit_naming_the_batch_or_end_to_end_ids(self):
        stornos = self.import_returns(self.inv_a | self.inv_b, "NTF-SUM-1", "RTN-SUM-1")
        before = self.consequences()
        st_line = self.bank_debit(225.5, payment_ref=f"Terugboekingen {self.batch.name}")
        self.assert_reconciled_with(st_line, stornos)
        # the end-to-end ids in the bank's details
        stornos = self.import_returns(self.inv_c | self.inv_d, "NTF-SUM-2", "RTN-SUM-2")
        st_line = self.bank_debit(225.5, payment_ref="Terugboekingen", transaction_details={
            "TxDtls": [{"Refs": {"EndToEndId": self.e2e(self.inv_c)}},
                       {"Refs": {"EndToEndId": self.e2e(self.inv_d)}}]})
        self.assert_reconciled_with(st_line, stornos)
        self.assertEqual(self.consequences()[0], before[0] + 2)

    def test_file_then_one_bank_debit_naming_nothing(self):
        """The texts name nothing: the one set of open stornos of the journal with that
        total (the bank's charge of 2.50 included), booked on or before the line, is it.
        A transfer of the same amount (its bank code says so) is not."""
        stornos = self.import_returns(self.inv_a | self.inv_b, "NTF-SUM-1", "RTN-SUM-1",
                                      charges=2.5)
        self.assertEqual(sorted(stornos.mapped("charge_amount")), [0.0, 2.5])
        before = self.consequences()
        transfer = self.bank_debit(228.0, payment_ref="Huur februari",
                                   transaction_type="PMNT-ICDT-ESCT")
        self.assertFalse(transfer.is_reconciled)
        self.assertFalse(self.chatter(transfer))
        earlier = self.bank_debit(228.0, payment_ref="Afschrijving",
                                  date=fields.Date.subtract(self.today, days=1))
        self.assertFalse(earlier.is_reconciled)
        without_charge = self.bank_debit(225.5, payment_ref="Afschrijving")
        self.assertFalse(without_charge.is_reconciled)
        st_line = self.bank_debit(228.0, payment_ref="Afschrijving")
        self.assert_reconciled_with(st_line, stornos)
        self.assertEqual(self.consequences(), before)

    # ------------------------------------------------------------------
    # no return file: the details name several debits
    # ------------------------------------------------------------------

    def test_no_file_end_to_end_ids_in_the_details_register_one_storno_each(self):
        st_line = self.bank_debit(225.5, payment_ref="Terugboeking incasso",
                                  transaction_type="PMNT-IDDT-UPDD", transaction_details={
            "TxDtls": [
                {"Refs": {"EndToEndId": self.e2e(self.inv_a)}, "RtrInf": {"Rsn": {"Cd": "AM04"}}},
                {"Refs": {"EndToEndId": self.e2e(self.inv_b)}, "RtrInf": {"Rsn": {"Cd": "MD06"}}},
            ]})
        stornos = self.Storno.search([("statement_line_id", "=", st_line.id)], order="amount")
        self.assertRecordValues(stornos, [
            {"end_to_end_id": self.e2e(self.inv_a), "amount": 100.0, "reason_code": "AM04",
             "kind": "return", "source": "statement", "charge_amount": 0.0},
            {"end_to_end_id": self.e2e(self.inv_b), "amount": 125.5, "reason_code": "MD06",
             "kind": "refund", "source": "statement", "charge_amount": 0.0}])
        self.assert_reconciled_with(st_line, stornos)
        self.assert_failed(self.inv_a, self.inv_b)

    def test_no_file_charge_up_to_the_maximum_per_storno(self):
        """Two returns, the bank took 15.00 more: at most 10.00 a storno (20.00 for
        two) is plausible; no reason given for each: unknown."""
        st_line = self.bank_debit(
            240.5, payment_ref=f"STORNO {self.e2e(self.inv_a)} {self.e2e(self.inv_b)}")
        stornos = self.Storno.search([("statement_line_id", "=", st_line.id)], order="id")
        self.assertEqual(stornos.mapped("reason_code"), ["NONE", "NONE"])
        self.assertEqual(sorted(stornos.mapped("charge_amount")), [0.0, 15.0])
        self.assert_reconciled_with(st_line, stornos)
        self.assert_failed(self.inv_a, self.inv_b)
        # above two maximum charges: left to the bookkeeper
        st_line = self.bank_debit(
            246.0, payment_ref=f"STORNO {self.e2e(self.inv_c)} {self.e2e(self.inv_d)}")
        self.assert_left_open(st_line, "above the maximum bank charge")
        self.assertEqual(self.inv_c.payment_state, "paid")

    # ------------------------------------------------------------------
    # never a guess
    # ------------------------------------------------------------------

    def test_amount_not_the_sum_is_left_open_with_a_note(self):
        self.import_returns(self.inv_a | self.inv_b, "NTF-SUM-1", "RTN-SUM-1")
        before = self.consequences()
        st_line = self.bank_debit(200.0, payment_ref="SEPA STORNO NTF-SUM-1")
        self.assert_left_open(st_line, "200.00", "225.50", self.e2e(self.inv_a),
                              self.e2e(self.inv_b))
        self.assertEqual(self.consequences(), before)
        # without the file: the debits it names are not registered
        st_line = self.bank_debit(
            220.0, payment_ref=f"STORNO {self.e2e(self.inv_c)} {self.e2e(self.inv_d)}")
        self.assert_left_open(st_line, "less than the debit")
        self.assertEqual(self.consequences(), before)
        self.assertEqual((self.inv_c | self.inv_d).mapped("payment_state"), ["paid", "paid"])

    def test_two_candidate_sets_are_left_open(self):
        """100.00 + 125.50 of one file and 25.50 + 200.00 of another: a bank debit of
        225.50 naming nothing could be either."""
        first = self.import_returns(self.inv_a | self.inv_b, "NTF-SUM-1", "RTN-SUM-1")
        second = self.import_returns(self.inv_c | self.inv_d, "NTF-SUM-2", "RTN-SUM-2")
        before = self.consequences()
        st_line = self.bank_debit(225.5, payment_ref="Afschrijving")
        self.assert_left_open(st_line, "225.50", self.e2e(self.inv_a), self.e2e(self.inv_d))
        self.assertEqual(self.consequences(), before)
        self.assertFalse((first | second).statement_line_id)
        # the file's message id decides
        st_line = self.bank_debit(225.5, payment_ref="Storno NTF-SUM-2")
        self.assert_reconciled_with(st_line, second)
        self.assertFalse(first.statement_line_id)
        # the same bank debit imported twice names the paid ones: not the other set,
        # although it is now the only open set of that total
        again = self.bank_debit(225.5, payment_ref="Storno", transaction_details={
            "TxDtls": [{"Refs": {"EndToEndId": self.e2e(self.inv_c)}},
                       {"Refs": {"EndToEndId": self.e2e(self.inv_d)}}]})
        self.assertFalse(again.is_reconciled)
        self.assertFalse(first.statement_line_id)
        self.assertEqual(self.consequences(), before)
