"""Direct debits of a company not in euro (a Danish company collecting in euro on a euro
bank account), and the accounting of a user whose current company is another one."""

import base64

from odoo import Command, fields
from odoo.tests import tagged

from .common import CREDITOR_IBAN
from .test_return_import import camt054, entry, return_tx
from .test_storno_accounting import StornoCommon

CREDITOR_ID_DK = "DK34ZZZ12345678"
CREDITOR_IBAN_DK = "DK5000400440116243"
IBAN_DEBTOR_2 = "NL39RABO0300065264"
#: DKK per euro: at the invoices' date, and from today on (the later entries).
RATE_INVOICES = 7.40
RATE_TODAY = 7.46


@tagged("post_install", "-at_install")
class TestStornoNonEuroCompany(StornoCommon):
    """A DKK company with a chart of accounts and a EUR bank journal; its customers'
    invoices are in euro (the batch collects euros). Each entry must balance in kroner,
    its amounts in currency be the euros, the bank's charges be converted at the
    entry's date, and transit and the stornos account close once the bank booked
    everything."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        eur = cls.env.ref("base.EUR")
        cls.eur, cls.dkk = eur, cls.env.ref("base.DKK")
        cls.dkk.active = True
        data = cls.setup_other_company(name="Musikforeningen Aarhus", currency_id=cls.dkk.id)
        cls.dk = data["company"]
        cls.env["res.currency.rate"].create([
            {"name": "2019-01-01", "rate": 1 / RATE_INVOICES, "currency_id": eur.id,
             "company_id": cls.dk.id},
            {"name": fields.Date.today(), "rate": 1 / RATE_TODAY, "currency_id": eur.id,
             "company_id": cls.dk.id},
        ])
        cls.dk.write({
            "sepa_creditor_identifier": CREDITOR_ID_DK,
            "sepa_storno_charge_account_id": data["default_account_expense"].id,
            # in kroner (about 10 euros): the default 10.00 is in the company's currency
            "sepa_storno_max_charge": 75.0,
        })
        cls.journal_dk = cls.env["account.journal"].create({
            "name": "Bank EUR", "code": "BEUR", "type": "bank", "company_id": cls.dk.id,
            "currency_id": eur.id,
            "bank_account_id": cls.env["res.partner.bank"].create({
                "acc_number": CREDITOR_IBAN_DK, "partner_id": cls.dk.partner_id.id}).id,
        })
        cls.expense_dk = data["default_account_expense"]
        cls.partner_a, _mandate = cls.create_debtor(
            "Anders Jensen", "NL20INGB0001234567", name="MDT-DK-A", company_id=cls.dk.id,
            sequence_type="recurring")
        cls.partner_b, _mandate = cls.create_debtor(
            "Birgitte Hansen", "NL91ABNA0417164300", name="MDT-DK-B", company_id=cls.dk.id,
            sequence_type="recurring")
        cls.partner_c, _mandate = cls.create_debtor(
            "Carl Nielsen", IBAN_DEBTOR_2, name="MDT-DK-C", company_id=cls.dk.id,
            sequence_type="recurring")
        # in euro, dated 2019-01-01: 740.00, 185.00 and 296.00 kroner
        cls.inv_a = cls.invoice(cls.partner_a, 100.0, company=cls.dk, currency=eur)
        cls.inv_b = cls.invoice(cls.partner_b, 25.0, company=cls.dk, currency=eur)
        cls.inv_c = cls.invoice(cls.partner_c, 40.0, company=cls.dk, currency=eur)
        cls.proposal = cls.env["sepa.batch.proposal"].with_company(cls.dk).create({
            "company_id": cls.dk.id, "journal_id": cls.journal_dk.id})
        cls.proposal.action_propose()
        cls.batch = cls.env["sepa.batch"].browse(cls.proposal.action_create_batch()["res_id"])
        cls.batch.action_generate()
        cls.batch.action_send()

    # helpers

    def line(self, invoice):
        return self.line_of(self.batch, invoice)

    def bank_line(self, amount, ref, **values):
        """A line of the euro bank statement (``amount`` in euro)."""
        return self.env["account.bank.statement.line"].with_company(self.dk).create({
            "journal_id": self.journal_dk.id, "date": fields.Date.today(),
            "payment_ref": ref, "amount": amount, **values})

    def settle(self):
        st_line = self.bank_line(165.0, f"SEPA INCASSO {self.batch.name}")
        self.assertTrue(st_line.is_reconciled, "the bank's euro credit settles the batch")
        self.assertEqual(self.batch.state, "done")
        return st_line

    def register_dk(self, invoice, kind="return", **values):
        return self.Storno.with_company(self.dk).register([{
            "batch_line_id": self.line(invoice).id, "reason_code": "AM04", "kind": kind,
            "date": fields.Date.today(), "source": "manual", **values}])

    def charge_lines(self, storno):
        return storno.move_id.line_ids.filtered(lambda aml: aml.account_id == self.expense_dk)

    def assert_books(self):
        """Every posted entry of the company balances in kroner; an entry all in euro
        balances in euro too; transit is open for what the bank still credits."""
        moves = self.env["account.move"].search(
            [("company_id", "=", self.dk.id), ("state", "=", "posted")])
        for move in moves:
            self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, 2, move.name)
            if set(move.line_ids.currency_id.mapped("name")) == {"EUR"}:
                self.assertAlmostEqual(sum(move.line_ids.mapped("amount_currency")), 0.0, 2,
                                       move.name)

    def assert_closed(self, lines):
        """``lines`` (transit, outstanding) are all reconciled: nothing left in kroner
        nor in euro."""
        self.assertTrue(lines)
        self.assertAlmostEqual(sum(lines.mapped("amount_residual")), 0.0, 2)
        self.assertAlmostEqual(sum(lines.mapped("amount_residual_currency")), 0.0, 2)

    def assert_charge(self, storno, euros):
        """The bank's charge of ``euros``, in kroner at the entry's date."""
        charge = self.charge_lines(storno)
        self.assertRecordValues(charge, [{
            "balance": round(euros * RATE_TODAY, 2), "amount_currency": euros,
            "currency_id": self.eur.id}])

    def assert_failed(self, invoice, euros):
        self.assertRecordValues(invoice, [{
            "amount_residual": euros, "amount_residual_signed": round(euros * RATE_INVOICES, 2),
            "payment_state": "not_paid", "sepa_state": "failed", "currency_id": self.eur.id}])

    def storno_outstanding(self, stornos):
        account = self.dk._sepa_storno_account(self.journal_dk)
        return stornos.move_id.line_ids.filtered(lambda aml: aml.account_id == account)

    # ------------------------------------------------------------------
    # proposal, batch, posting, settlement
    # ------------------------------------------------------------------

    def test_batch_in_euro_is_posted_in_kroner_and_settled_by_the_euro_credit(self):
        self.assertEqual(self.proposal.currency_id, self.eur)
        self.assertAlmostEqual(self.proposal.selected_amount, 165.0)
        self.assertRecordValues(self.batch, [{
            "company_id": self.dk.id, "currency_id": self.eur.id, "amount_total": 165.0,
            "state": "sent"}])
        self.assertEqual(sorted(self.batch.line_ids.mapped("amount")), [25.0, 40.0, 100.0])
        move = self.batch.move_id
        transit = self.batch._transit_lines()
        self.assertAlmostEqual(sum(transit.mapped("amount_currency")), 165.0)
        self.assertAlmostEqual(sum(transit.mapped("balance")), 1221.0)  # the invoices' kroner
        credit = move.line_ids.filtered(lambda aml: aml.sepa_batch_line_id == self.line(
            self.inv_a))
        self.assertRecordValues(credit, [{"balance": -740.0, "amount_currency": -100.0,
                                          "currency_id": self.eur.id, "reconciled": True}])
        self.assertEqual(set((self.inv_a | self.inv_b | self.inv_c).mapped("payment_state")),
                         {self.env["account.move"]._sepa_in_batch_payment_state()})
        self.assert_books()
        self.settle()
        self.assertEqual(set((self.inv_a | self.inv_b | self.inv_c).mapped("payment_state")),
                         {"paid"})
        self.assert_closed(self.batch._transit_lines())
        self.assert_books()

    def test_reject_before_settlement_then_the_reduced_credit_settles(self):
        storno = self.register_dk(self.inv_a, kind="reject", charge_amount=5.0)
        self.assert_failed(self.inv_a, 100.0)
        self.assert_charge(storno, 5.0)
        transit = self.batch._transit_lines()
        self.assertAlmostEqual(sum(transit.mapped("amount_residual_currency")), 65.0)
        st_line = self.bank_line(65.0, f"SEPA INCASSO {self.batch.name}")
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(self.batch.state, "done")
        self.assert_closed(transit)
        self.assertEqual((self.inv_b | self.inv_c).mapped("payment_state"), ["paid", "paid"])
        # the bank debits the charge: reconciled with the storno, its account closes
        charge_debit = self.bank_line(-5.0, f"Charges {storno.end_to_end_id}")
        self.assertTrue(charge_debit.is_reconciled)
        self.assert_closed(self.storno_outstanding(storno))
        self.assert_books()

    # ------------------------------------------------------------------
    # stornos with a bank charge: return file, statement line, by hand
    # ------------------------------------------------------------------

    def test_return_file_with_a_charge_in_euro(self):
        self.settle()
        line = self.line(self.inv_c)
        data = camt054([entry([return_tx(line.end_to_end_id, 40.0, "MD06", rtyp="RFND",
                                         ref="TX-DK-1", charges=5.0)], 45.0, "RTN-DK-1")])
        data = data.replace(CREDITOR_IBAN.encode(), CREDITOR_IBAN_DK.encode())
        wizard = self.env["sepa.return.import"].with_company(self.dk).create({
            "company_id": self.dk.id, "data_file": base64.b64encode(data),
            "filename": "returns.xml"})
        wizard.action_preview()
        storno = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        self.assertRecordValues(storno, [{"company_id": self.dk.id, "amount": 40.0,
                                          "charge_amount": 5.0, "currency_id": self.eur.id}])
        self.assert_charge(storno, 5.0)
        self.assert_failed(self.inv_c, 40.0)
        self.assert_books()
        # the bank's debit of 45 euros (debit and charge) is reconciled with the storno
        st_line = self.bank_line(-45.0, f"Terugboeking {line.end_to_end_id}")
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(storno.statement_line_id, st_line)
        self.assert_closed(self.storno_outstanding(storno))
        self.assert_closed(self.batch._transit_lines())
        self.assert_books()

    def test_statement_line_return_with_a_charge_in_euro(self):
        """A bank debit of 30 euros for a debit of 25: a charge of 5 euros."""
        self.settle()
        line = self.line(self.inv_b)
        st_line = self.bank_line(-30.0, f"Storno {line.end_to_end_id} AM04")
        storno = self.Storno.search([("statement_line_id", "=", st_line.id)])
        self.assertRecordValues(storno, [{"amount": 25.0, "charge_amount": 5.0,
                                          "reason_code": "AM04"}])
        self.assert_charge(storno, 5.0)
        self.assert_failed(self.inv_b, 25.0)
        self.assertTrue(st_line.is_reconciled)
        self.assert_closed(self.storno_outstanding(storno))
        self.assert_books()

    def test_statement_line_charge_above_the_maximum_in_kroner(self):
        """The maximum bank charge is in kroner (75.00 DKK: 10.05 euros today): a bank
        debit of 36 euros for a debit of 25 is no storno; of 35 euros it is."""
        self.settle()
        line = self.line(self.inv_b)
        st_line = self.bank_line(-36.0, f"Storno {line.end_to_end_id} AM04")
        self.assertFalse(self.Storno.search([("statement_line_id", "=", st_line.id)]))
        self.assertFalse(st_line.is_reconciled)
        [note] = st_line.move_id.message_ids.filtered(
            lambda message: "Not registered as a storno" in (message.body or ""))
        self.assertIn("75.00", note.body)
        self.assertEqual(self.inv_b.payment_state, "paid")
        st_line = self.bank_line(-35.0, f"Storno {line.end_to_end_id} AM04")
        self.assertRecordValues(self.Storno.search([("statement_line_id", "=", st_line.id)]),
                                [{"amount": 25.0, "charge_amount": 10.0}])
        self.assert_books()

    def reconcile_by_hand(self, st_line, picked, partner=None):
        suspense = st_line._seek_for_lines()[1]
        suspense.with_context(skip_account_move_synchronization=True).write({
            "account_id": picked.account_id.id,
            **({"partner_id": partner.id} if partner else {})})
        (suspense | picked).reconcile()
        return suspense

    def test_by_hand_with_the_batch_credit_charge_in_euro(self):
        """The bank's debit of 30 euros reconciled by hand with the 25 euro debit's batch
        credit: a charge of 5 euros (not the 30 euros' kroner minus 25)."""
        self.settle()
        credit = self.batch.move_id.line_ids.filtered(
            lambda aml: aml.sepa_batch_line_id == self.line(self.inv_b))
        st_line = self.bank_line(-30.0, "Storno", partner_id=self.partner_b.id)
        self.reconcile_by_hand(st_line, credit, partner=self.partner_b)
        storno = self.Storno.search([("statement_line_id", "=", st_line.id)])
        self.assertRecordValues(storno, [{"amount": 25.0, "charge_amount": 5.0}])
        self.assert_charge(storno, 5.0)
        self.assert_failed(self.inv_b, 25.0)
        self.assertTrue(st_line.is_reconciled)
        self.assert_books()

    def test_default_charge_of_the_company_is_converted(self):
        """The company's default charge is in its currency (kroner): the storno charges
        its euros at the storno's date."""
        self.settle()
        self.dk.sepa_storno_charge_amount = 37.30
        storno = self.register_dk(self.inv_b)
        self.assertEqual(storno.charge_amount, 5.0)
        self.assert_charge(storno, 5.0)
        self.assert_books()

    # ------------------------------------------------------------------
    # cancel, fees
    # ------------------------------------------------------------------

    def test_cancel_storno_restores_the_books(self):
        self.settle()
        storno = self.register_dk(self.inv_a, charge_amount=5.0)
        self.assert_failed(self.inv_a, 100.0)
        storno.action_cancel()
        self.assertEqual(storno.state, "cancelled")
        reversal = storno.cancel_move_id
        self.assertEqual(reversal.journal_id, self.journal_dk)
        self.assertRecordValues(self.inv_a, [{"amount_residual": 0.0, "payment_state": "paid"}])
        charges = (storno.move_id | reversal).line_ids.filtered(
            lambda aml: aml.account_id == self.expense_dk)
        self.assertAlmostEqual(sum(charges.mapped("balance")), 0.0)
        self.assertAlmostEqual(sum(charges.filtered(lambda aml: aml.balance > 0).mapped(
            "balance")), 37.30)
        self.assert_closed(self.storno_outstanding(storno) | reversal.line_ids.filtered(
            lambda aml: aml.account_id == self.dk._sepa_storno_account(self.journal_dk)))
        self.assert_closed(self.batch._transit_lines())
        self.assert_books()

    def test_fee_invoice_in_euro(self):
        self.settle()
        product = self._create_product(name="Gebyr", type="service", lst_price=37.30,
                                       taxes_id=[Command.clear()], company_id=self.dk.id,
                                       property_account_income_id=False,
                                       property_account_expense_id=False)
        self.dk.write({"sepa_storno_fee_invoice": True, "sepa_storno_fee_product_id": product.id})
        charged = self.register_dk(self.inv_b, charge_amount=5.0)
        free = self.register_dk(self.inv_c, charge_amount=0.0)
        self.assertRecordValues(charged.fee_invoice_id | free.fee_invoice_id, [
            {"currency_id": self.eur.id, "amount_total": 5.0, "amount_total_signed": 37.30,
             "state": "posted", "sepa_state": "to_collect"},
            # no charge: the product's price in kroner, in euro
            {"currency_id": self.eur.id, "amount_total": 5.0, "amount_total_signed": 37.30,
             "state": "posted", "sepa_state": "to_collect"},
        ])
        self.assert_books()


@tagged("post_install", "-at_install")
class TestStornoCompaniesAndJournals(StornoCommon):
    """The euro company's stornos booked by a user whose current company is another one,
    and stornos of two bank journals cancelled together."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()

    def test_current_company_in_another_currency_does_not_round_the_entry(self):
        """The current company's currency rounds to whole yen: the storno entry of the
        euro company keeps its cents."""
        jpy = self.env.ref("base.JPY")
        jpy.active = True
        tokyo = self.env["res.company"].create({"name": "Tokyo Office", "currency_id": jpy.id})
        self.env.user.company_ids |= tokyo
        batch = self.send_batch()
        self.statement(180.25, batch.name)
        self.assertEqual(batch.state, "done")
        env = self.env(context=dict(self.env.context,
                                    allowed_company_ids=[tokyo.id, self.company.id]))
        self.assertEqual(env.company, tokyo)
        stornos = self.Storno.with_env(env).register([{
            "batch_line_id": self.line_of(batch, invoice).id, "reason_code": "AM04",
            "kind": "return", "date": fields.Date.today(), "source": "manual",
            "charge_amount": 0.4} for invoice in (self.inv_first_1, self.inv_recurring)])
        move = stornos.move_id
        self.assertEqual(len(move), 1)
        self.assert_balanced(move)
        self.assertAlmostEqual(move.amount_total, 181.05)  # 180.25 + 2 x 0.40
        expense = self.company.sepa_storno_charge_account_id
        self.assertAlmostEqual(sum(move.line_ids.filtered(
            lambda aml: aml.account_id == expense).mapped("balance")), 0.8)
        self.assertAlmostEqual(self.transit_residual(batch), 0.0)
        self.assertEqual(set((self.inv_first_1 | self.inv_recurring).mapped("payment_state")),
                         {"not_paid"})

    def test_cancel_stornos_of_two_bank_journals_together(self):
        journal_2 = self.env["account.journal"].create({
            "name": "Bank 2", "code": "BNK2", "type": "bank", "company_id": self.company.id,
            "bank_account_id": self.env["res.partner.bank"].create({
                "acc_number": IBAN_DEBTOR_2, "partner_id": self.company.partner_id.id}).id,
        })
        batch_1 = self.create_batch(invoice_ids=[Command.set(self.inv_recurring.ids)])
        inv_2 = self.invoice(self.recurring_partner, 20.0)
        batch_2 = self.create_batch(journal_id=journal_2.id,
                                    invoice_ids=[Command.set(inv_2.ids)])
        for batch in batch_1 | batch_2:
            batch.action_generate()
            batch.action_send()
        stornos = self.Storno.register([{
            "batch_line_id": batch.line_ids.id, "reason_code": "AM04", "kind": "reject",
            "date": fields.Date.today(), "source": "manual", "charge_amount": 1.0}
            for batch in (batch_1, batch_2)])
        self.assertEqual(stornos.move_id.journal_id, self.bank_journal | journal_2)
        stornos.action_cancel()
        reversals = stornos.cancel_move_id
        self.assertEqual(len(reversals), 2, "one reversal entry per bank journal")
        for storno in stornos:
            self.assertEqual(storno.cancel_move_id.journal_id, storno.move_id.journal_id)
            self.assert_balanced(storno.cancel_move_id)
            self.assertEqual(storno.cancel_move_id.line_ids.sepa_storno_id, storno)
        for batch in batch_1 | batch_2:
            self.assertEqual(batch.line_ids.state, "pending")
            self.assertAlmostEqual(self.transit_residual(batch), batch.amount_total)
        self.assertEqual((self.inv_recurring | inv_2).mapped("payment_state"),
                         [self.env["account.move"]._sepa_in_batch_payment_state()] * 2)
