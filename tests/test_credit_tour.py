"""The month without a bank-import module, in Chromium
(static/tests/tours/sepa_credit_tour.js): a bookkeeper with the billing group only sends
the batch and settles it with Register Bank Credit."""

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import IBAN_A, IBAN_B, SepaTourCase


@tagged("post_install", "-at_install")
class TestCreditTour(SepaTourCase):
    def member(self, name, iban, amount):
        partner = self.env["res.partner"].create({
            "name": name, "country_id": self.env.ref("base.nl").id, "city": "Utrecht"})
        bank = self.env["res.partner.bank"].create({"acc_number": iban, "partner_id": partner.id})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id, "partner_bank_id": bank.id,
            "signature_date": "2025-01-15"})
        mandate.action_activate()
        mandate.sequence_type_override = "recurring"
        partner.sepa_collect = True
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.clear()]})],
        })
        invoice.action_post()
        return invoice

    def test_credit_tour(self):
        journal = self.setup_creditor("Credit Tour Bank", "CTBK")
        invoices = (self.member("Credit Tour Member", IBAN_A, 100.0)
                    | self.member("Credit Tour Second Member", IBAN_B, 50.0))
        bookkeeper = new_test_user(
            self.env, login="credit_bookkeeper", groups="account.group_account_invoice",
            company_id=self.env.company.id)
        self.assertFalse(bookkeeper.has_group("account.group_account_user"))
        self.start_tour("/odoo", "sepa_credit_tour", login=bookkeeper.login)

        batch = self.env["sepa.batch"].search([("journal_id", "=", journal.id)])
        self.assertRecordValues(batch, [{"state": "done", "amount_total": 150.0,
                                         "settled_date": fields.Date.context_today(batch)}])
        st_line = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", journal.id)])
        self.assertEqual(len(st_line), 1)
        self.assertEqual(st_line.amount, 150.0)
        self.assertIn("BANK-CREDIT-TOUR-1", st_line.payment_ref)
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})
        self.assertEqual(set(invoices.mapped("sepa_state")), {"collected"})
