import base64
import re

from lxml import etree

from odoo.tests import tagged

from .common import CREDITOR_ID, IBAN_C, SepaBatchCommon


@tagged("post_install", "-at_install")
class TestBatchReport(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Two first debits of one mandate (merged into one transaction) and a recurring one.
        cls.invoice(cls.debtor, 100.0)
        cls.invoice(cls.debtor, 50.25)
        cls.invoice(cls.recurring_partner, 30.0)

    def generated_batch(self):
        batch = self.create_batch()
        batch.action_generate()
        self.assertEqual(batch.state, "generated")
        return batch

    def report_blocks(self, batch):
        report = self.env["report.sepa_direct_debit.report_sepa_batch"]
        values = report._get_report_values(batch.ids)
        self.assertEqual(values["docs"], batch)
        return values["blocks"][batch.id]

    def test_report_blocks(self):
        batch = self.generated_batch()
        blocks = self.report_blocks(batch)
        self.assertEqual([block["sequence_type"] for block in blocks], ["FRST", "RCUR"])
        self.assertEqual([block["pmt_inf_id"] for block in blocks],
                         [f"{batch.name}-P1", f"{batch.name}-P2"])
        self.assertEqual([block["count"] for block in blocks], [1, 1])
        self.assertEqual([block["amount"] for block in blocks], [150.25, 30.0])
        self.assertEqual(sorted({block["pmt_inf_id"] for block in blocks}),
                         sorted(set(batch.line_ids.mapped("pmt_inf_id"))))
        self.assertEqual(sum(block["count"] for block in blocks), batch.debit_count)
        self.assertAlmostEqual(sum(block["amount"] for block in blocks), batch.amount_total)
        self.assertEqual({block["collection_date"] for block in blocks},
                         set(batch.line_ids.mapped("collection_date")))

    def test_cover_letter_pdf(self):
        batch = self.generated_batch()
        flat = self.render_pdf_text("sepa_direct_debit.action_report_sepa_batch", batch)
        blocks = self.report_blocks(batch)
        expected = [
            batch.name,
            batch.filename,
            CREDITOR_ID,
            self.company.name,
            batch.pain_version,
            "150.25",  # control sum of the FRST block (two invoices, one transaction)
            "30.00",  # control sum of the RCUR block
            "180.25",  # total
            *(block["pmt_inf_id"] for block in blocks),
        ]
        for value in expected:
            self.assertIn(value, flat)
        self.assertIn(self.bank_journal.bank_account_id.acc_number.replace(" ", ""),
                      flat.replace(" ", ""))
        # Per block: its id, sequence type and number of transactions on one row; the
        # total row: 2 transactions (3 invoices) and the total amount.
        self.assertRegex(flat, rf"{re.escape(batch.name)}-P1 FRST .*? 1 .*?150\.25")
        self.assertRegex(flat, rf"{re.escape(batch.name)}-P2 RCUR .*? 1 .*?30\.00")
        self.assertRegex(flat, r"Total 2 .*?180\.25")

    def test_print_button_on_form(self):
        arch = self.env["sepa.batch"].get_view(
            self.env.ref("sepa_direct_debit.view_sepa_batch_form").id)["arch"]
        action = self.env.ref("sepa_direct_debit.action_report_sepa_batch")
        self.assertIn(f'name="{action.id}"', arch)
        self.assertIn("Print Cover Letter", arch)

    def one_off_invoice(self, amount):
        """An invoice of a customer with one mandate per invoice, its mandate signed."""
        partner = self.env["res.partner"].create({
            "name": "Sanne Visser", "country_id": self.env.ref("base.nl").id,
            "bank_ids": [(0, 0, {"acc_number": IBAN_C})],
        })
        partner.write({"sepa_collect": True, "sepa_mandate_per_invoice": True})
        invoice = self.invoice(partner, amount)
        mandate = invoice.sepa_oneoff_mandate_ids
        mandate.write({"signature_date": "2025-01-15", "name": "MDT-OOFF"})
        mandate.action_activate()
        self.assertEqual(invoice.sepa_mandate_id, mandate)
        return invoice

    def test_blocks_in_rulebook_order(self):
        """FRST, RCUR, OOFF on one date: the lines, the file and the cover letter agree on
        the rulebook's order (not the alphabetical FRST, OOFF, RCUR)."""
        self.one_off_invoice(40.0)
        batch = self.generated_batch()
        self.assertEqual(len(set(batch.line_ids.mapped("collection_date"))), 1)
        line_blocks = {line.sequence_type: line.pmt_inf_id for line in batch.line_ids}
        self.assertEqual(line_blocks, {"FRST": f"{batch.name}-P1", "RCUR": f"{batch.name}-P2",
                                       "OOFF": f"{batch.name}-P3"})
        root = etree.fromstring(base64.b64decode(batch.file))
        ns = {"p": root.nsmap[None]}
        self.assertEqual(
            [(info.findtext("p:PmtInfId", namespaces=ns),
              info.findtext(".//p:SeqTp", namespaces=ns))
             for info in root.iterfind(".//p:PmtInf", namespaces=ns)],
            [(f"{batch.name}-P1", "FRST"), (f"{batch.name}-P2", "RCUR"),
             (f"{batch.name}-P3", "OOFF")])
        blocks = self.report_blocks(batch)
        self.assertEqual([(block["pmt_inf_id"], block["sequence_type"], block["amount"])
                          for block in blocks],
                         [(f"{batch.name}-P1", "FRST", 150.25),
                          (f"{batch.name}-P2", "RCUR", 30.0),
                          (f"{batch.name}-P3", "OOFF", 40.0)])
        flat = self.render_pdf_text("sepa_direct_debit.action_report_sepa_batch", batch)
        self.assertRegex(flat, r"-P1 FRST .*-P2 RCUR .*-P3 OOFF .*Total 3 .*?220\.25")
