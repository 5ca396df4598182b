import base64

from odoo import Command, fields
from odoo.tests import tagged

from ..sepa.calendar import earliest_collection_date
from .common import IBAN_B, SepaTourCase


@tagged("post_install", "-at_install")
class TestBatchTour(SepaTourCase):
    def setup_cycle_data(self):
        journal = self.setup_creditor()
        eur = self.env.ref("base.EUR")
        partner = self.env["res.partner"].create({
            "name": "Tour Batch Debtor", "country_id": self.env.ref("base.nl").id})
        bank = self.env["res.partner.bank"].create({
            "acc_number": IBAN_B, "partner_id": partner.id})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id,
            "partner_bank_id": bank.id,
            "signature_date": "2025-01-15",
        })
        mandate.action_activate()
        partner.sepa_collect = True
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "currency_id": eur.id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": 125.0,
                "tax_ids": [Command.clear()],
            })],
        })
        invoice.action_post()
        return journal, invoice

    def test_batch_cycle_tour(self):
        journal, invoice = self.setup_cycle_data()
        self.assertEqual(invoice.sepa_state, "to_collect")
        self.start_tour("/odoo", "sepa_batch_tour", login="admin")
        batch = self.env["sepa.batch"].search([("journal_id", "=", journal.id)])
        self.assertRecordValues(batch, [{"state": "sent", "amount_total": 125.0,
                                         "line_count": 1}])
        self.assertTrue(batch.file)
        self.assertEqual(batch.line_ids.invoice_id, invoice)
        # The debit moved to today was shifted back to the earliest possible date, in
        # the batch and its file.
        today = fields.Date.context_today(invoice)
        earliest = earliest_collection_date(
            today, "CORE", bank_cutoff_days=self.env.company.sepa_bank_lead_days)
        self.assertEqual(batch.line_ids.collection_date, earliest)
        self.assertIn(f"<ReqdColltnDt>{earliest}</ReqdColltnDt>",
                      base64.b64decode(batch.file).decode())
        self.assertGreaterEqual(batch.latest_delivery_date, today)
        self.assertEqual(invoice.payment_state, "in_payment")
