"""Storno fees re-invoiced to the customers (company setting), on a real database."""

from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..models import sepa_storno
from .test_storno_accounting import StornoCommon


@tagged("post_install", "-at_install")
class TestStornoFees(StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tax_vals = {"amount": 21.0, "amount_type": "percent", "type_tax_use": "sale",
                    "company_id": cls.company.id}
        cls.vat = cls.env["account.tax"].create({
            **tax_vals, "name": "VAT 21% (fee)", "price_include_override": "tax_excluded"})
        cls.vat_included = cls.env["account.tax"].create({
            **tax_vals, "name": "VAT 21% incl. (fee)",
            "price_include_override": "tax_included"})
        cls.fee_product = cls._create_product(
            name="Storno fee", type="service", lst_price=7.5,
            taxes_id=[Command.set(cls.vat.ids)])
        cls.company.write({"sepa_storno_fee_invoice": True,
                           "sepa_storno_fee_product_id": cls.fee_product.id})
        cls.inv_first_1 = cls.invoice(cls.debtor, 100.0)
        cls.inv_first_2 = cls.invoice(cls.debtor, 50.25)  # merged: one debit
        cls.inv_rec_1 = cls.invoice(cls.recurring_partner, 30.0)
        cls.inv_rec_2 = cls.invoice(cls.recurring_partner, 20.0)  # a debit of its own

    def register_all(self, batch, charges, kind="reject"):
        """One register call: a storno per (invoice, charge) in ``charges``."""
        return self.Storno.register([{
            "batch_line_id": self.line_of(batch, invoice).id, "reason_code": "AM04",
            "kind": kind, "date": fields.Date.today(), "source": "manual",
            "charge_amount": charge} for invoice, charge in charges])

    def fee_invoices(self):
        return self.env["account.move"].search([
            ("move_type", "=", "out_invoice"),
            ("invoice_line_ids.product_id", "=", self.fee_product.id)], order="id")

    def test_one_invoice_per_customer_with_charges_taxes_and_product_price(self):
        batch = self.send_batch()
        stornos = self.register_all(batch, [
            (self.inv_first_1, 5.0), (self.inv_rec_1, 2.5), (self.inv_rec_2, 0.0)])
        invoices = self.fee_invoices()
        self.assertEqual(len(invoices), 2, "one fee invoice per customer")
        debtor_fee = invoices.filtered(lambda inv: inv.partner_id == self.debtor)
        rec_fee = invoices - debtor_fee
        self.assertRecordValues(debtor_fee | rec_fee, [
            {"partner_id": self.debtor.id, "state": "posted", "payment_state": "not_paid",
             "amount_untaxed": 5.0, "amount_tax": 1.05, "amount_total": 6.05,
             "sepa_mandate_id": self.mandate_first.id, "sepa_state": "to_collect"},
            {"partner_id": self.recurring_partner.id, "state": "posted",
             "payment_state": "not_paid",
             # the bank's charge 2.50, and no charge: the product's price 7.50; the tax
             # rounded per line (the company's default): 0.53 + 1.58
             "amount_untaxed": 10.0, "amount_tax": 2.11, "amount_total": 12.11,
             "sepa_mandate_id": self.mandate_recurring.id, "sepa_state": "to_collect"},
        ])
        storno_of = {inv: storno for storno in stornos for inv in storno.invoice_ids}
        self.assertRecordValues(rec_fee.invoice_line_ids.sorted("price_unit"), [
            {"product_id": self.fee_product.id, "quantity": 1.0, "price_unit": 2.5,
             "tax_ids": self.vat.ids, "sepa_fee_storno_id": storno_of[self.inv_rec_1].id},
            {"product_id": self.fee_product.id, "quantity": 1.0, "price_unit": 7.5,
             "tax_ids": self.vat.ids, "sepa_fee_storno_id": storno_of[self.inv_rec_2].id},
        ])
        self.assertEqual(debtor_fee.invoice_line_ids.account_id,
                         self.company_data["default_account_revenue"])
        # the label names the failed debit and its invoices
        label = debtor_fee.invoice_line_ids.name
        storno = storno_of[self.inv_first_1]
        self.assertIn(storno.end_to_end_id, label)
        self.assertIn(self.inv_first_1.name, label)
        self.assertIn(self.inv_first_2.name, label)
        self.assertIn("AM04", label)
        # linked on the stornos
        self.assertEqual(storno.fee_invoice_id, debtor_fee)
        self.assertEqual((stornos - storno).fee_invoice_id, rec_fee)

    def test_price_including_tax(self):
        self.fee_product.taxes_id = self.vat_included
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_rec_1, 6.05)])
        self.assertRecordValues(self.fee_invoices(), [{
            "amount_untaxed": 5.0, "amount_tax": 1.05, "amount_total": 6.05}])

    def test_fiscal_position_maps_the_tax(self):
        exempt = self.env["account.tax"].create({
            "name": "VAT 0% (fee)", "amount": 0.0, "type_tax_use": "sale",
            "company_id": self.company.id})
        position = self.env["account.fiscal.position"].create({
            "name": "Exempt", "company_id": self.company.id,
            "tax_ids": [Command.create({"tax_src_id": self.vat.id,
                                        "tax_dest_id": exempt.id})]})
        self.recurring_partner.property_account_position_id = position
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_rec_1, 3.0)])
        invoice = self.fee_invoices()
        self.assertEqual(invoice.fiscal_position_id, position)
        self.assertEqual(invoice.invoice_line_ids.tax_ids, exempt)
        self.assertAlmostEqual(invoice.amount_total, 3.0)

    def test_refused_fee_invoice_names_its_customer_debits_and_product(self):
        """The fee product's tax is of another country than the company's fiscal country
        (the generic chart's American tax in a Dutch company): the registration stops with
        an error naming the customer, the failed debits and the product of the fee invoice
        Odoo refuses (not the other customer's, whose invoice passes), and changes
        nothing."""
        outside_eu = self.env["account.fiscal.position"].create({
            "name": "Outside the EU", "company_id": self.company.id,
            "tax_ids": [Command.create({"tax_src_id": self.vat.id, "tax_dest_id": False})]})
        self.debtor.property_account_position_id = outside_eu
        self.company.account_fiscal_country_id = self.env.ref("base.nl")
        batch = self.send_batch()
        with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
            self.register_all(batch, [(self.inv_first_1, 5.0), (self.inv_rec_1, 2.5)])
        message = caught.exception.args[0]
        self.assertIn("Storno fee invoice for Jan de Vries", message)
        self.assertIn(self.line_of(batch, self.inv_rec_1).end_to_end_id, message)
        self.assertIn("product Storno fee", message)
        self.assertIn("incompatible with your fiscal country", message)
        self.assertNotIn(self.debtor.name, message)
        self.assertNotIn(self.line_of(batch, self.inv_first_1).end_to_end_id, message)
        # nothing registered, nothing invoiced
        self.assertFalse(self.Storno.search([("batch_id", "=", batch.id)]))
        self.assertFalse(self.fee_invoices())
        self.assertEqual(set(batch.line_ids.mapped("state")), {"pending"})
        # each customer's fee invoice refused alone: the first one is named
        self.debtor.property_account_position_id = False
        with self.assertRaisesRegex(UserError, "Storno fee invoice for Vereniging De "
                                    "Eendracht"), self.env.cr.savepoint():
            self.register_all(batch, [(self.inv_first_1, 5.0), (self.inv_rec_1, 2.5)])

    def test_setting_off_or_nothing_to_charge_creates_nothing(self):
        self.company.sepa_storno_fee_invoice = False
        batch = self.send_batch()
        storno = self.register_all(batch, [(self.inv_rec_1, 2.5)])
        self.assertFalse(self.fee_invoices())
        self.assertFalse(storno.fee_invoice_id)
        # on, but no charge and a product without price: no invoice of 0
        self.company.sepa_storno_fee_invoice = True
        self.fee_product.lst_price = 0.0
        self.register_all(batch, [(self.inv_rec_2, 0.0)])
        self.assertFalse(self.fee_invoices())

    def test_setting_needs_a_service_product(self):
        with self.assertRaises(ValidationError):
            self.company.sepa_storno_fee_product_id = False
        goods = self._create_product(name="Goods", type="consu")
        with self.assertRaises(ValidationError):
            self.company.sepa_storno_fee_product_id = goods

    def test_revoked_mandate_fee_invoice_has_none(self):
        self.company.write({"sepa_storno_auto_revoke": True, "sepa_storno_threshold": 1})
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_rec_1, 2.5)])
        self.assertEqual(self.mandate_recurring.state, "revoked")
        invoice = self.fee_invoices()
        self.assertRecordValues(invoice, [{"sepa_mandate_id": False,
                                           "sepa_state": "no_mandate"}])

    def test_fee_invoices_are_collected_by_the_next_proposal(self):
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_first_1, 5.0), (self.inv_rec_1, 2.5)])
        fees = self.fee_invoices()
        wizard = self.propose()
        self.assertEqual(wizard.line_ids.invoice_id & fees, fees)
        line_of = {line.invoice_id.partner_id: line for line in wizard.line_ids}
        self.assertRecordValues(line_of[self.debtor] | line_of[self.recurring_partner], [
            {"invoice_id": fees[0].id, "amount": 6.05, "selected": True, "reason": False,
             "mandate_id": self.mandate_first.id},
            {"invoice_id": fees[1].id, "amount": 3.03, "selected": True, "reason": False,
             "mandate_id": self.mandate_recurring.id},
        ])
        # the failed invoices themselves wait for a decision
        self.assertIn(self.inv_rec_1, wizard.excluded_line_ids.invoice_id)

    def test_cancel_storno_credits_its_fee_line(self):
        batch = self.send_batch()
        stornos = self.register_all(batch, [(self.inv_rec_1, 2.5), (self.inv_rec_2, 4.0)])
        invoice = stornos.fee_invoice_id
        self.assertEqual(len(invoice), 1)
        first = stornos.filtered(lambda s: self.inv_rec_1 in s.invoice_ids)
        first.action_cancel()
        refund = invoice.reversal_move_ids
        self.assertRecordValues(refund, [{
            "move_type": "out_refund", "state": "posted", "amount_total": 3.03,
            "payment_state": "paid"}])
        self.assertEqual(refund.invoice_line_ids.sepa_fee_storno_id, first)
        self.assertAlmostEqual(invoice.amount_residual, 4.84)
        self.assertEqual(first.fee_invoice_id, invoice)  # still shown on the storno
        # the last storno of the invoice: nothing left to pay
        (stornos - first).action_cancel()
        self.assertAlmostEqual(invoice.amount_residual, 0.0)
        self.assertEqual(invoice.payment_state, "reversed")

    def test_cancel_refused_while_the_fee_is_paid(self):
        batch = self.send_batch()
        storno = self.register_all(batch, [(self.inv_rec_1, 2.5)])
        invoice = storno.fee_invoice_id
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({
                "amount": 1.0}).action_create_payments()
        with self.assertRaisesRegex(UserError, invoice.name):
            storno.action_cancel()
        self.assertEqual(storno.state, "done")
        self.assertFalse(invoice.reversal_move_ids)

    def test_many_customers_left_to_the_background_job(self):
        batch = self.send_batch()
        with patch.object(sepa_storno, "FEE_INVOICES_AT_ONCE", 1):
            stornos = self.register_all(batch, [
                (self.inv_first_1, 5.0), (self.inv_rec_1, 2.5), (self.inv_rec_2, 1.0)])
        # two customers, more than one invoice at once: none yet, the job is due
        self.assertFalse(self.fee_invoices())
        self.assertEqual(stornos.mapped("fee_pending"), [True] * 3)
        cron = self.env.ref("sepa_direct_debit.ir_cron_sepa_storno_fees")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        # a run makes at most `limit` invoices, then triggers itself again
        self.Storno._cron_invoice_fees(limit=1)
        self.assertEqual(len(self.fee_invoices()), 1)
        self.Storno._cron_invoice_fees(limit=1)
        invoices = self.fee_invoices()
        self.assertRecordValues(invoices, [
            {"partner_id": self.debtor.id, "amount_untaxed": 5.0, "state": "posted"},
            {"partner_id": self.recurring_partner.id, "amount_untaxed": 3.5,
             "state": "posted"},
        ])
        self.assertEqual(stornos.fee_invoice_id, invoices)
        self.assertFalse(any(stornos.mapped("fee_pending")))
        self.Storno._cron_invoice_fees()  # nothing left: nothing made twice
        self.assertEqual(self.fee_invoices(), invoices)

    def test_background_job_skips_cancelled_stornos(self):
        batch = self.send_batch()
        with patch.object(sepa_storno, "FEE_INVOICES_AT_ONCE", 0):
            storno = self.register_all(batch, [(self.inv_rec_1, 2.5)])
        storno.action_cancel()
        self.Storno._cron_invoice_fees()
        self.assertFalse(self.fee_invoices())
        self.assertFalse(storno.fee_pending)

    def test_fee_label_in_the_customers_language(self):
        """A Dutch customer's fee line reads in Dutch, an English one's in English, in
        one registration."""
        self.env["res.lang"]._activate_lang("nl_NL")
        self.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        self.debtor.lang = "nl_NL"
        self.recurring_partner.lang = "en_US"
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_first_1, 5.0), (self.inv_rec_1, 2.5)])
        invoices = self.fee_invoices()
        dutch = invoices.filtered(lambda inv: inv.partner_id == self.debtor)
        english = invoices - dutch
        # the product, then the debit on the next line (no leading colon once the
        # invoice form shows the product's name apart)
        self.assertIn("\nIncasso ", dutch.invoice_line_ids.name)
        self.assertIn("mislukt op", dutch.invoice_line_ids.name)
        self.assertIn("\nDirect debit ", english.invoice_line_ids.name)
        self.assertIn("failed on", english.invoice_line_ids.name)
        self.assertNotIn("Incasso", english.invoice_line_ids.name)
