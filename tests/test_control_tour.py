"""The failure half of the monthly cycle in Chromium: import the bank's return file,
control after reconciliation, next proposal (static/tests/tours/sepa_control_tour.js)."""

import base64

from odoo import Command, fields
from odoo.tests import tagged

from . import test_return_import as files
from .common import IBAN_A, IBAN_B, IBAN_C, IBAN_D, SepaTourCase

#: Name of the return file the tour uploads (kept as an attachment: the user's disk).
RETURN_FILE = "sepa_tour_returns.xml"


@tagged("post_install", "-at_install")
class TestControlTour(SepaTourCase):
    def customer(self, name, iban, amount, recurring):
        """A customer collected by direct debit, with an active mandate (new: its next
        debit is FRST; ``recurring``: debited before, RCUR) and an open invoice."""
        partner = self.env["res.partner"].create({
            "name": name, "country_id": self.env.ref("base.nl").id, "city": "Utrecht"})
        bank = self.env["res.partner.bank"].create({"acc_number": iban, "partner_id": partner.id})
        mandate = self.env["sepa.mandate"].create({
            "partner_id": partner.id, "partner_bank_id": bank.id,
            "signature_date": "2025-01-15"})
        mandate.action_activate()
        if recurring:
            mandate.sequence_type_override = "recurring"
        partner.sepa_collect = True
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.clear()],
            })],
        })
        invoice.action_post()
        return mandate, invoice

    def setup_failures(self):
        """A sent batch of four debits (one the FRST debit of a new mandate) and the
        bank's camt.054: the first debit rejected before settlement, two recurring
        debits returned."""
        journal = self.setup_creditor("Tour Control Bank", "TCBK")
        data = {
            "first": self.customer("Tour First Debtor", IBAN_A, 80.0, recurring=False),
            "held": self.customer("Tour Held Debtor", IBAN_B, 45.0, recurring=True),
            "retried": self.customer("Tour Retried Debtor", IBAN_C, 30.0, recurring=True),
            "paid": self.customer("Tour Paid Debtor", IBAN_D, 60.0, recurring=True),
        }
        proposal = self.env["sepa.batch.proposal"].create({"journal_id": journal.id})
        proposal.action_propose()
        batch = self.env["sepa.batch"].browse(proposal.action_create_batch()["res_id"])
        batch.action_generate()
        batch.action_send()
        self.assertEqual(batch.state, "sent")
        self.assertEqual(batch.debit_count, 4)
        lines = {key: batch.line_ids.filtered(lambda line, i=invoice: line.invoice_id == i)
                 for key, (_mandate, invoice) in data.items()}
        self.assertEqual(lines["first"].sequence_type, "FRST")
        today = fields.Date.context_today(batch).isoformat()
        entries = [
            files.entry([files.return_tx(lines[key].end_to_end_id, amount, code,
                                         mandate=data[key][0].name, rtyp=rtyp,
                                         ref=f"TOUR-{key}")],
                        amount, f"TOUR-NTRY-{key}", day=today)
            for key, amount, code, rtyp in [("first", 80.0, "MS03", "RJCT"),
                                            ("held", 45.0, "MD06", "RFND"),
                                            ("retried", 30.0, "AM04", "RTRN")]]
        self.env["ir.attachment"].create({
            "name": RETURN_FILE, "mimetype": "application/xml",
            "datas": base64.b64encode(files.camt054(entries, msg_id="TOUR-NTF"))})
        return batch, data

    def test_control_tour(self):
        batch, data = self.setup_failures()
        self.start_tour("/odoo", "sepa_control_tour", login="admin")

        stornos = self.env["sepa.storno"].search([("batch_id", "=", batch.id)])
        by_invoice = {storno.invoice_ids: storno for storno in stornos}
        first, held, retried, paid = (data[key][1] for key in
                                      ("first", "held", "retried", "paid"))
        self.assertEqual(set(by_invoice), {first, held, retried})
        self.assertRecordValues(by_invoice[first], [{
            "kind": "reject", "reason_code": "MS03", "release_state": "retry",
            "source": "file", "hold_note": False}])
        self.assertRecordValues(by_invoice[held], [{
            "kind": "refund", "reason_code": "MD06", "release_state": "hold",
            "hold_note": "Customer disputes the invoice"}])
        self.assertRecordValues(by_invoice[retried], [{
            "kind": "return", "reason_code": "AM04", "release_state": "retry"}])
        # the first debit was kept First: the explicit choice on the mandate
        self.assertEqual(data["first"][0].sequence_type_override, "first")
        self.assertEqual(batch.storno_release_count, 0)
        self.assertRecordValues(first | held | retried | paid, [
            {"sepa_state": "to_collect", "payment_state": "not_paid"},
            {"sepa_state": "on_hold", "payment_state": "not_paid"},  # held, not undecided
            {"sepa_state": "to_collect", "payment_state": "not_paid"},
            {"sepa_state": "in_batch", "payment_state": "in_payment"},
        ])
        summary = batch.message_ids.filtered(
            lambda message: "Control after reconciliation" in (message.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn("3 failed debit(s) released: 2 to retry, 1 held, 0 taken out",
                      summary.body)
        self.assertIn("First on 1 mandate(s)", summary.body)
