"""Return file import: camt.054, camt.053 and pain.002 built from the tests' own batches
(their real end-to-end ids), matched, previewed and registered."""

import base64
import importlib.util
import json
import threading
from contextlib import closing
from pathlib import Path

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import Form, TransactionCase, new_test_user, tagged

from ..sepa.readers import read_message
from .common import CREDITOR_IBAN, CREDITOR_ID, ReturnImportHelpers, SepaBatchCommon

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
HEAD = '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
CAMT = HEAD + 'camt.0{kind}.001.{version}">'
PAIN002 = HEAD + 'pain.002.001.{version}">'


# ----------------------------------------------------------------------
# XML builders (shapes as in tests/sepa/fixtures)
# ----------------------------------------------------------------------

def return_tx(e2e, amount, reason="AM04", mandate=None, rtyp=None, ref=None, charges=None):
    """One TxDtls of a returned debit."""
    return "".join([
        "<TxDtls>",
        f"<Refs><AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else "<Refs>",
        f"<EndToEndId>{e2e}</EndToEndId>",
        f"<MndtId>{mandate}</MndtId>" if mandate else "",
        "</Refs>",
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount:.2f}</Amt></TxAmt></AmtDtls>',
        f'<Chrgs><Amt Ccy="EUR">{charges:.2f}</Amt></Chrgs>' if charges else "",
        f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn>",
        f"<AddtlInf>/RTYP/{rtyp}</AddtlInf>" if rtyp else "",
        "</RtrInf></TxDtls>",
    ])


def entry(txs, amount, ref, credit=False, family="IDDT", sub="UPDD", day="2030-02-05"):
    """One booked entry (Ntry) holding ``txs`` (TxDtls strings)."""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt>'
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd>"
        f"</Fmly></Domn></BkTxCd><NtryDtls>{''.join(txs)}</NtryDtls></Ntry>")


def camt054(entries, version="02", msg_id="NTF-1", account=CREDITOR_IBAN):
    return (
        f"{CAMT.format(kind=54, version=version)}"
        f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{msg_id}</MsgId>"
        "<CreDtTm>2030-02-05T18:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id>"
        "<CreDtTm>2030-02-05T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id></Acct>"
        f"{''.join(entries)}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def camt053(entries, version="02", msg_id="STMT-1", account=CREDITOR_IBAN):
    balance = ('<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00'
               '</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2030-02-05</Dt></Dt></Bal>')
    return (
        f"{CAMT.format(kind=53, version=version)}"
        f"<BkToCstmrStmt><GrpHdr><MsgId>{msg_id}</MsgId>"
        "<CreDtTm>2030-02-06T02:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id>"
        "<CreDtTm>2030-02-06T02:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{balance.format(code='OPBD')}{balance.format(code='CLBD')}"
        f"{''.join(entries)}</Stmt></BkToCstmrStmt></Document>").encode()


def pain002(orig_msg_id, blocks=(), group_status="PART", group_reason=None, version="03",
            msg_id="STS-1"):
    """``blocks``: (pmt_inf_id, status, reason, [(e2e, reason, amount, mandate, date)])."""
    def reason(code):
        return f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf>" if code else ""

    body = []
    for pmt_inf_id, status, block_reason, txs in blocks:
        body.append(f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{pmt_inf_id}</OrgnlPmtInfId>"
                    f"<PmtInfSts>{status}</PmtInfSts>{reason(block_reason)}")
        for e2e, code, amount, mandate, day in txs:
            body.append(
                f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
                f"{reason(code)}<OrgnlTxRef>"
                f'<Amt><InstdAmt Ccy="EUR">{amount:.2f}</InstdAmt></Amt>'
                f"<ReqdColltnDt>{day}</ReqdColltnDt>"
                f"<MndtRltdInf><MndtId>{mandate}</MndtId></MndtRltdInf>"
                "</OrgnlTxRef></TxInfAndSts>")
        body.append("</OrgnlPmtInfAndSts>")
    return (
        f"{PAIN002.format(version=version)}"
        f"<CstmrPmtStsRpt><GrpHdr><MsgId>{msg_id}</MsgId>"
        "<CreDtTm>2030-02-01T10:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{orig_msg_id}</OrgnlMsgId>"
        "<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>"
        f"<GrpSts>{group_status}</GrpSts>{reason(group_reason)}</OrgnlGrpInfAndSts>"
        f"{''.join(body)}</CstmrPmtStsRpt></Document>").encode()


@tagged("post_install", "-at_install")
class TestReturnImport(ReturnImportHelpers, SepaBatchCommon):
    return_filename = "returns.xml"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the batch of the three invoices, sent: made once, each test is rolled back
        cls.make_sent_cycle_batch()

    def setUp(self):
        super().setUp()
        # The two first debits of MDT-FIRST are merged into one debit (one end-to-end id).
        self.assertEqual(len(set(self.first.mapped("end_to_end_id"))), 1)

    # helpers


    def settle(self):
        self.batch._settle()
        self.assertEqual(self.batch.state, "done")

    def camt054_return_of_recurring(self, **values):
        line = self.recurring
        tx = return_tx(line.end_to_end_id, 30.0, "AM04", mandate="MDT-RCUR",
                       rtyp="RTRN", ref="TX-REF-1", charges=values.pop("charges", None))
        return camt054([entry([tx], 30.0, "RTN-1")], **values)

    # ------------------------------------------------------------------
    # preview and matching
    # ------------------------------------------------------------------

    def test_camt054_return_of_settled_batch_preview(self):
        self.settle()
        wizard = self.preview(self.camt054_return_of_recurring(charges=1.5))
        self.assertEqual(wizard.message, "camt.054.001.02")
        self.assertEqual(wizard.state, "preview")
        self.assertRecordValues(wizard.line_ids, [{
            "status": "match",
            "batch_line_id": self.recurring.id,
            "batch_id": self.batch.id,
            "mandate_id": self.mandate_recurring.id,
            "partner_id": self.recurring_partner.id,
            "amount": 30.0,
            "charge_amount": 1.5,
            "reason_code": "AM04",
            "reason_name": "Insufficient funds",
            "kind": "return",
            "transaction_ref": "TX-REF-1",
            "date": fields.Date.to_date("2030-02-05"),
            "note": False,
        }])
        self.assertEqual(wizard.line_ids.invoice_ids, self.inv_recurring)
        self.assertEqual((wizard.match_count, wizard.match_amount), (1, 30.0))
        self.assertFalse(wizard.previous_import)

    def test_merged_debit_shows_every_invoice(self):
        e2e = self.first[0].end_to_end_id
        wizard = self.preview(camt054([entry([return_tx(e2e, 150.25, "MD01")], 150.25, "R2")]))
        self.assertEqual(wizard.line_ids.invoice_ids, self.inv_first_1 | self.inv_first_2)
        self.assertEqual(wizard.line_ids.batch_line_id, self.first[0])
        self.assertEqual(wizard.line_ids.reason_name, "No mandate, or unauthorised transaction")

    def test_mandate_amount_and_date_when_end_to_end_id_is_unknown(self):
        line = self.recurring
        day = line.collection_date.isoformat()
        data = pain002(self.batch.name, [(line.pmt_inf_id, "PART", None, [
            ("NOTPROVIDED", "AC04", 30.0, "MDT-RCUR", day)])])
        wizard = self.preview(data)
        self.assertRecordValues(wizard.line_ids, [{
            "status": "match", "batch_line_id": line.id, "kind": "reject",
            "reason_code": "AC04"}])
        # Another amount or another collection date: no match, and the line says why.
        for amount, other_day in ((31.0, day), (30.0, "2031-01-01")):
            wizard = self.preview(pain002(self.batch.name, [(line.pmt_inf_id, "PART", None, [
                ("NOTPROVIDED", "AC04", amount, "MDT-RCUR", other_day)])], msg_id="STS-X"))
            self.assertEqual(wizard.line_ids.status, "unmatched")
            self.assertIn("nor of mandate MDT-RCUR", wizard.line_ids.note)

    def test_pain002_transaction_reject_of_sent_batch(self):
        line = self.recurring
        data = pain002(self.batch.name, [(line.pmt_inf_id, "PART", None, [
            (line.end_to_end_id, "MS02", 30.0, "MDT-RCUR", line.collection_date)])])
        wizard = self.preview(data)
        self.assertRecordValues(wizard.line_ids, [{
            "status": "match", "batch_line_id": line.id, "kind": "reject",
            "reason_code": "MS02", "amount": 30.0,
            "transaction_ref": f"pain.002/STS-1/{line.end_to_end_id}"}])

    def test_pain002_group_reject_is_one_line_of_the_batch(self):
        """A whole-file reject is not a failed debit of each customer: one line of the
        batch (see tests/test_whole_file_reject.py for what registering it does)."""
        wizard = self.preview(pain002(self.batch.name, group_status="RJCT", group_reason="AM10"))
        self.assertRecordValues(wizard.line_ids, [{
            "status": "batch_reject", "level": "group", "reject_batch_id": self.batch.id,
            "batch_line_id": False, "reason_code": "AM10", "amount": 180.25}])
        self.assertEqual((wizard.match_count, wizard.batch_reject_count), (0, 1))

    def test_pain002_block_reject_covers_the_block_only(self):
        block = self.recurring.pmt_inf_id
        self.assertNotEqual(block, self.first[0].pmt_inf_id)
        wizard = self.preview(pain002(self.batch.name, [(block, "RJCT", "FF01", [])]))
        self.assertRecordValues(wizard.line_ids, [{
            "status": "match", "batch_line_id": self.recurring.id, "level": "pmtinf",
            "reason_code": "FF01", "amount": 30.0}])

    def test_camt053_statement_with_returned_debit(self):
        self.settle()
        e2e = self.first[0].end_to_end_id
        data = camt053([
            entry([], 500.0, "CREDIT-1", credit=True, family="RCDT", sub="ESCT"),
            entry([return_tx(e2e, 150.25, "MD06", rtyp="RFND", ref="ST-TX-9")], 150.25,
                  "ST-9", sub="ESDD"),
        ], version="08")
        wizard = self.preview(data)
        self.assertEqual(wizard.message, "camt.053.001.08")
        self.assertRecordValues(wizard.line_ids, [{
            "status": "match", "batch_line_id": self.first[0].id, "kind": "refund",
            "reason_code": "MD06", "amount": 150.25, "transaction_ref": "ST-TX-9"}])

    def test_unmatched_transactions_say_why(self):
        data = camt054([
            entry([return_tx("SOMEONE-ELSE-1", 12.0, "AM04", mandate="FOREIGN-7")], 12.0, "U1"),
            entry([], 20.0, "U2"),  # no transaction details
        ])
        wizard = self.preview(data)
        self.assertEqual(wizard.line_ids.mapped("status"), ["unmatched", "unmatched"])
        self.assertIn("No debit with end-to-end id SOMEONE-ELSE-1", wizard.line_ids[0].note)
        self.assertIn("no details", wizard.line_ids[1].note)
        self.assertEqual(wizard.unmatched_count, 2)
        self.assertEqual(json.loads(wizard.line_ids[0].raw_data)["end_to_end_id"],
                         "SOMEONE-ELSE-1")

    def test_return_is_judged_like_a_bank_statement_line(self):
        """The same rule as for statement lines (sepa.return.matcher): the creditor
        identifier the bank gives must be ours, the amount the debit's plus at most the
        maximum bank charge (or the charge the bank states)."""
        e2e = self.recurring.end_to_end_id

        def creditor(tx, creditor_id):
            return tx.replace("<RtrInf>", (
                "<RltdPties><Cdtr><Nm>Creditor</Nm><Id><PrvtId><Othr>"
                f"<Id>{creditor_id}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr>"
                "</PrvtId></Id></Cdtr></RltdPties><RtrInf>"))

        data = camt054([
            entry([creditor(return_tx(e2e, 30.0, ref="F1"), "NL08ZZZ502057730000")], 30.0,
                  "F1"),
            entry([return_tx(e2e, 45.0, ref="F2")], 45.0, "F2"),
            entry([return_tx(e2e, 20.0, ref="F3")], 20.0, "F3"),
            entry([creditor(return_tx(e2e, 33.0, ref="F4"), CREDITOR_ID)], 33.0, "F4"),
        ])
        wizard = self.preview(data)
        self.assertEqual(wizard.line_ids.mapped("status"),
                         ["unmatched", "unmatched", "unmatched", "match"])
        notes = wizard.line_ids.mapped("note")
        self.assertIn("NL08ZZZ502057730000 is not ours", notes[0])
        self.assertIn("above the maximum bank charge per storno", notes[1])
        self.assertIn("less than debit", notes[2])
        self.assertEqual(wizard.line_ids[3].batch_line_id, self.recurring)
        # a charge the bank states is the bank's word
        data = camt054([entry([return_tx(e2e, 45.0, ref="F5", charges=15.0)], 45.0, "F5")])
        self.assertEqual(self.preview(data).line_ids.status, "match")

    def test_cancelled_batch_does_not_take_stornos(self):
        other = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 7.0).id])
        e2e = other.line_ids.end_to_end_id
        other.action_cancel()
        wizard = self.preview(camt054([entry([return_tx(e2e, 7.0)], 7.0, "C1")]))
        self.assertEqual(wizard.line_ids.status, "unmatched")
        self.assertIn("never sent or was cancelled", wizard.line_ids.note)

    def test_same_debit_twice_in_one_file(self):
        e2e = self.recurring.end_to_end_id
        data = camt054([entry([return_tx(e2e, 30.0, ref="A")], 30.0, "D1"),
                        entry([return_tx(e2e, 30.0, ref="B")], 30.0, "D2")])
        wizard = self.preview(data)
        self.assertEqual(wizard.line_ids.mapped("status"), ["match", "registered"])
        self.assertIn("failed already in this file", wizard.line_ids[1].note)

    def test_batch_preset_warns_when_file_is_about_another_batch(self):
        other = self.create_batch(invoice_ids=[self.invoice(self.recurring_partner, 8.0).id])
        other.action_generate()
        other.action_send()
        wizard = self.preview(self.camt054_return_of_recurring(), batch_id=other.id)
        self.assertIn(f"No transaction of this file belongs to batch {other.name}",
                      wizard.batch_warning)
        wizard = self.preview(self.camt054_return_of_recurring(), batch_id=self.batch.id)
        self.assertFalse(wizard.batch_warning)

    def test_transaction_registered_from_a_statement_line_is_skipped(self):
        st_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.bank_journal.id, "date": "2030-02-05", "amount": -30.0,
            "payment_ref": "STORNO AM04"})
        self.env["sepa.storno"].create({
            "name": "earlier", "batch_line_id": self.recurring.id, "reason_code": "AM04",
            "kind": "return", "source": "statement", "statement_line_id": st_line.id,
            "transaction_ref": "OTHER-REF", "state": "done"})
        wizard = self.preview(self.camt054_return_of_recurring())
        self.assertEqual(wizard.line_ids.status, "registered")
        self.assertIn("as earlier (bank statement line STORNO AM04)", wizard.line_ids.note)
        self.assertEqual((wizard.match_count, wizard.registered_count), (0, 1))

    def test_transaction_ref_registered_from_another_file_is_skipped(self):
        self.env["sepa.storno"].create({
            "name": "kept", "reason_code": "AM04", "kind": "return", "source": "file",
            "import_ref": "sha256:abc other.xml", "transaction_ref": "TX-REF-1",
            "state": "unmatched"})
        wizard = self.preview(self.camt054_return_of_recurring())
        self.assertEqual(wizard.line_ids.status, "registered")
        self.assertIn("Kept as unmatched", wizard.line_ids.note)
        self.assertIn("file other.xml", wizard.line_ids.note)

    def test_preview_warns_what_registration_would_refuse(self):
        """The preview says what the company's settings keep registration from doing: a
        bank charge without charges account (registration refuses it), an outstanding
        account that does not reconcile, fees on with a product taxed in another country
        than the fiscal country."""
        self.settle()
        data = self.camt054_return_of_recurring(charges=1.5)
        self.assertFalse(self.preview(data).setup_warning)
        self.company.sepa_storno_charge_account_id = False
        wizard = self.preview(data)
        self.assertIn("Storno Charges Account", wizard.setup_warning)
        self.assertIn("(1 in this file)", wizard.setup_warning)
        with self.assertRaisesRegex(UserError, "Storno Charges Account"):
            wizard.action_apply()
        # no charge in the file, none by default: nothing to warn
        self.assertFalse(self.preview(self.camt054_return_of_recurring()).setup_warning)
        # the outstanding account must reconcile
        self.company.sepa_storno_account_id = self.company_data["default_account_expense"]
        wizard = self.preview(self.camt054_return_of_recurring())
        self.assertIn("must allow reconciliation", wizard.setup_warning)
        self.company.sepa_storno_account_id = False
        # fees on, the fee product taxed in the United States, the company Dutch
        product = self.company.sepa_storno_fee_product_id
        product.write({"lst_price": 5.0, "taxes_id": self.company.account_sale_tax_id.ids})
        self.company.write({"sepa_storno_fee_invoice": True,
                            "account_fiscal_country_id": self.env.ref("base.nl").id})
        wizard = self.preview(self.camt054_return_of_recurring())
        self.assertIn(product.display_name, wizard.setup_warning)
        self.assertIn("fiscal country", wizard.setup_warning)

    # ------------------------------------------------------------------
    # registration
    # ------------------------------------------------------------------

    def test_apply_registers_return_of_settled_batch(self):
        self.settle()
        self.company.sepa_storno_charge_account_id = self.company_data["default_account_expense"]
        self.assertEqual(self.inv_recurring.payment_state, "paid")
        data = self.camt054_return_of_recurring(charges=1.5)
        wizard = self.preview(data)
        action = wizard.action_apply()
        storno = self.env["sepa.storno"].search(action["domain"])
        self.assertRecordValues(storno, [{
            "state": "done", "batch_line_id": self.recurring.id, "kind": "return",
            "reason_code": "AM04", "source": "file", "transaction_ref": "TX-REF-1",
            "charge_amount": 1.5, "mandate_id": self.mandate_recurring.id,
            "date": fields.Date.to_date("2030-02-05")}])
        self.assertEqual(storno.invoice_ids, self.inv_recurring)
        self.assertTrue(storno.import_ref.startswith(f"sha256:{wizard.file_sha256} "))
        self.assertTrue(storno.import_ref.endswith("returns.xml"))
        self.assertRecordValues(self.inv_recurring, [
            {"payment_state": "not_paid", "amount_residual": 30.0}])
        self.assertEqual(self.recurring.state, "failed")

    def test_apply_pain002_group_reject_of_sent_batch(self):
        wizard = self.preview(pain002(self.batch.name, group_status="RJCT", group_reason="AM10"))
        action = wizard.action_apply()
        self.assertEqual((action["res_model"], action["res_id"]), ("sepa.batch", self.batch.id))
        self.assertEqual(self.batch.state, "rejected")
        self.assertFalse(self.env["sepa.storno"].search([("batch_id", "=", self.batch.id)]))
        invoices = self.inv_first_1 | self.inv_first_2 | self.inv_recurring
        self.assertEqual(invoices.mapped("amount_residual"), [100.0, 50.25, 30.0])

    def test_same_file_twice_registers_nothing(self):
        data = self.camt054_return_of_recurring()
        self.preview(data).action_apply()
        again = self.preview(data, filename="returns-copy.xml")
        self.assertIn("This file was imported on", again.previous_import)
        self.assertIn("1 failed debits registered", again.previous_import)
        self.assertEqual(again.line_ids.status, "registered")
        with self.assertRaisesRegex(UserError, "This file was imported on"):
            again.action_apply()
        self.assertEqual(self.env["sepa.storno"].search_count(
            [("batch_line_id", "=", self.recurring.id)]), 1)

    def test_dates_in_the_users_language_format(self):
        """The import's messages write dates as the user's language does (not Babel's
        short form "2/5/30")."""
        lang = self.env["res.lang"]._lang_get(self.env.user.lang)
        lang.write({"date_format": "%d.%m.%Y", "time_format": "%H:%M"})
        data = self.camt054_return_of_recurring()
        self.preview(data).action_apply()
        storno = self.env["sepa.storno"].search([("transaction_ref", "=", "TX-REF-1")])
        created = fields.Datetime.context_timestamp(storno, storno.create_date)
        when = created.strftime("%d.%m.%Y %H:%M")
        again = self.preview(data)
        self.assertIn(f"This file was imported on {when} by", again.previous_import)
        self.assertIn(f"Registered on {when} as {storno.name}", again.line_ids.note)

    def test_registered_between_preview_and_apply_is_skipped(self):
        data = self.camt054_return_of_recurring()
        first, second = self.preview(data), self.preview(data)
        second.action_apply()
        self.assertEqual(first.line_ids.status, "match")  # its preview is older
        with self.assertRaisesRegex(UserError, "This file was imported on"):
            first.action_apply()
        # another file uploaded over the previewed one is read again
        first.data_file = base64.b64encode(pain002(self.batch.name, [(
            self.first[0].pmt_inf_id, "RJCT", "FF01", [])]))
        stornos = self.env["sepa.storno"].search(first.action_apply()["domain"])
        self.assertEqual(stornos.batch_line_id, self.first[0])

    def test_same_transaction_in_another_file_is_skipped(self):
        """The return arrives in the day's camt.054 and again in the statement."""
        self.preview(self.camt054_return_of_recurring()).action_apply()
        line = self.recurring
        statement = camt053([entry([return_tx(line.end_to_end_id, 30.0, "AM04")], 30.0,
                                   "STATEMENT-REF")])
        wizard = self.preview(statement, filename="statement.xml")
        self.assertFalse(wizard.previous_import)
        self.assertEqual(wizard.line_ids.status, "registered")
        self.assertIn("file returns.xml", wizard.line_ids.note)
        with self.assertRaisesRegex(UserError, "Nothing to register"):
            wizard.action_apply()

    def test_unmatched_transactions_are_kept(self):
        line = self.recurring
        data = camt054([
            entry([return_tx(line.end_to_end_id, 30.0, "AM04", ref="M1")], 30.0, "E1"),
            entry([return_tx("FOREIGN-1", 12.0, "MD07", mandate="X-7", ref="U1")], 12.0, "E2"),
        ])
        wizard = self.preview(data)
        stornos = self.env["sepa.storno"].search(wizard.action_apply()["domain"])
        unmatched = stornos.filtered(lambda s: s.state == "unmatched")
        self.assertRecordValues(unmatched, [{
            "end_to_end_id": "FOREIGN-1", "mandate_reference": "X-7", "amount": 12.0,
            "reason_code": "MD07", "transaction_ref": "U1", "batch_line_id": False}])
        self.assertEqual(unmatched.raw_data["debtor_name"], None)
        self.assertEqual(unmatched.raw_data["amount"], "12.00")
        self.assertEqual((stornos - unmatched).batch_line_id, line)
        # imported again: nothing new, the unmatched one is listed as kept
        again = self.preview(data)
        self.assertEqual(again.line_ids.mapped("status"), ["registered", "registered"])
        self.assertIn("Kept as unmatched", again.line_ids[1].note)

    def test_unmatched_transaction_matched_by_a_billing_user(self):
        """The bank's file names a debit by an id of its own: kept as unmatched. An
        Invoicing user matches it to its debit with "Match to a Debit": registered with
        the file's references, in place of the unmatched transaction."""
        self.settle()
        data = camt054([entry([return_tx("BANK-OWN-ID-1", 30.0, "MD07", ref="M-1")], 30.0,
                              "E1")])
        kept = self.env["sepa.storno"].search(self.preview(data).action_apply()["domain"])
        self.assertEqual(kept.state, "unmatched")
        import_ref = kept.import_ref
        user = new_test_user(self.env, login="sepa_match_billing",
                             groups="account.group_account_invoice", company_id=self.company.id)
        self.assertFalse(user.has_group("sepa_direct_debit.group_sepa_manager"))
        env = self.env(user=user)
        action = env["sepa.storno"].browse(kept.id).action_open_match()
        form = Form(env[action["res_model"]].with_context(action["context"]),
                    view="sepa_direct_debit.view_sepa_storno_match_form")
        self.assertFalse(form.batch_line_id)  # its id names no debit
        self.assertEqual((form.reason_id.code, form.kind), ("MD07", "return"))
        # the debit's amount is not the transaction's: refused, the transaction kept
        form.batch_line_id = env["sepa.batch.line"].browse(self.first[0].id)
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "amount 30.0 is not the debit's 150.25"):
            wizard.action_register()
        self.assertEqual(kept.state, "unmatched")
        form.batch_line_id = env["sepa.batch.line"].browse(self.recurring.id)
        result = form.save().action_register()
        storno = self.env["sepa.storno"].browse(result["res_id"])
        self.assertRecordValues(storno, [{
            "state": "done", "batch_line_id": self.recurring.id, "reason_code": "MD07",
            "kind": "return", "source": "file", "transaction_ref": "M-1",
            "import_ref": import_ref, "amount": 30.0}])
        self.assertFalse(kept.exists())
        self.assertRecordValues(self.inv_recurring, [
            {"payment_state": "not_paid", "amount_residual": 30.0}])
        # the file again: registered already
        self.assertEqual(self.preview(data).line_ids.status, "registered")

    def test_match_proposes_the_debit_the_transaction_names(self):
        """A transaction kept while its debit's batch was not sent yet names the debit:
        "Match to a Debit" proposes it."""
        kept = self.env["sepa.storno"].register_unmatched([{
            "end_to_end_id": self.first[0].end_to_end_id, "amount": 150.25,
            "reason_code": "AC04", "kind": "reject", "transaction_ref": "EARLY-1"}])
        action = kept.action_open_match()
        wizard = Form(self.env[action["res_model"]].with_context(action["context"]),
                      view="sepa_direct_debit.view_sepa_storno_match_form").save()
        self.assertEqual(wizard.batch_line_id, self.first[0])
        self.assertEqual(wizard.kind, "reject")
        storno = self.env["sepa.storno"].browse(wizard.action_register()["res_id"])
        self.assertEqual(storno.invoice_ids, self.inv_first_1 | self.inv_first_2)
        self.assertEqual(storno.transaction_ref, "EARLY-1")
        # a registered storno is not matched again
        with self.assertRaisesRegex(UserError, "Cannot match"):
            storno.action_open_match()

    # ------------------------------------------------------------------
    # refused files
    # ------------------------------------------------------------------

    def test_file_of_another_account_is_refused(self):
        """A camt file of an account that is no bank journal's of the company (unknown, or
        another company's) would keep strangers' names and IBANs as unmatched returns:
        refused, the account named masked, nothing created."""
        other = self.setup_other_company(name="Other Creditor")["company"]
        self.env["account.journal"].create({
            "name": "Other Bank", "code": "OBNK", "type": "bank", "company_id": other.id,
            "bank_account_id": self.env["res.partner.bank"].create({
                "acc_number": "DE89370400440532013000", "partner_id": other.partner_id.id}).id})
        txs = [return_tx("SOMEONE-ELSE-1", 12.0, "AM04", mandate="FOREIGN-7", ref="F1")]
        for account, masked in (("NL91ABNA0417164300", "NL91 **** **** 4300"),
                                ("DE89370400440532013000", "DE89 **** **** 3000")):
            for data in (camt054([entry(txs, 12.0, "U1")], account=account),
                         camt053([entry(txs, 12.0, "U1")], account=account)):
                wizard = self.wizard(data, filename="foreign.xml")
                for action in (wizard.action_preview, wizard.action_apply):
                    with self.assertRaises(UserError) as caught:
                        action()
                    message = str(caught.exception)
                    self.assertIn(f"foreign.xml is for bank account {masked}, which is not "
                                  "the account of a bank journal of", message)
                    self.assertIn("Nothing was imported", message)
                    self.assertNotIn(account, message)
                self.assertFalse(wizard.line_ids)
                self.assertEqual(wizard.state, "upload")
        self.assertFalse(self.env["sepa.storno"].search([("transaction_ref", "=", "F1")]))
        # the same transaction in a file of the company's account: kept as unmatched
        wizard = self.preview(camt054([entry(txs, 12.0, "U1")]))
        self.assertEqual(wizard.line_ids.status, "unmatched")

    def test_status_report_of_another_creditor_is_refused(self):
        """A pain.002 on a file that is no batch of the company is refused."""
        line = self.recurring
        for data in (pain002("SDD-2030-99999", group_status="RJCT", group_reason="AM10"),
                     pain002("SDD-2030-99999", [(line.pmt_inf_id, "PART", None, [
                         (line.end_to_end_id, "MS02", 30.0, "MDT-RCUR", "2030-02-01")])])):
            wizard = self.wizard(data, filename="status.xml")
            with self.assertRaisesRegex(UserError, r"status.xml reports on file SDD-2030-99999, "
                                        r"which is no direct debit batch of .*Nothing was "
                                        r"imported"):
                wizard.action_preview()
            self.assertFalse(wizard.line_ids)

    def test_pain008_is_refused(self):
        wizard = self.wizard(base64.b64decode(self.batch.file), filename="batch.xml")
        with self.assertRaisesRegex(UserError, r"batch.xml is a direct debit collection "
                                    r"file \(pain.008\)"):
            wizard.action_preview()
        self.assertFalse(wizard.line_ids)

    def test_statement_without_returns_is_refused(self):
        data = camt053([entry([], 500.0, "CREDIT-1", credit=True, family="RCDT", sub="ESCT")])
        with self.assertRaisesRegex(UserError, r"reports no failed direct debit"):
            self.wizard(data, filename="day.xml").action_preview()

    def test_broken_file_is_refused(self):
        with self.assertRaisesRegex(UserError, r"bad.xml cannot be read as a return file"):
            self.wizard(b"<Document><A></B></Document>", filename="bad.xml").action_preview()

    def test_entities_are_refused(self):
        data = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]>'
                b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>')
        with self.assertRaisesRegex(UserError, r"cannot be read as a return file"):
            self.wizard(data).action_preview()


@tagged("post_install", "-at_install")
class TestReturnImportSamples(SepaBatchCommon):
    """The public bank samples of ``../shared/testdata`` through the import preview: every
    R-transaction EXPECTED.json lists becomes one preview line with its values (none of
    them is ours: all unmatched, none lost)."""

    def test_samples_preview(self):
        if not TESTDATA.is_dir():
            self.skipTest(f"shared test data not found at {TESTDATA} (../shared absent)")
        expected = json.loads((TESTDATA / "EXPECTED.json").read_text(encoding="utf-8"))
        kinds = {"reject", "return", "refund", "reversal"}
        checked = 0
        for sample, want in sorted(expected.items()):
            if sample.split("/")[0] not in ("camt053", "camt054", "pain002"):
                continue
            stornos = [tx for tx in want["transactions"] if tx["kind"] in kinds]
            data = (TESTDATA / sample).read_bytes()
            self.make_ours(read_message(data))
            wizard = self.env["sepa.return.import"].create({
                "data_file": base64.b64encode(data), "filename": sample})
            with self.subTest(sample=sample):
                if not stornos:
                    with self.assertRaisesRegex(UserError, "reports no failed direct debit"):
                        wizard.action_preview()
                    continue
                wizard.action_preview()
                self.assertEqual(wizard.message, want["message"])
                lines = wizard.line_ids
                self.assertEqual(len(lines), len(stornos))
                self.assertEqual(set(lines.mapped("status")) - {"registered"}, {"unmatched"})
                for line, tx in zip(lines, stornos, strict=True):
                    self.assertEqual(line.kind, tx["kind"])
                    self.assertEqual(line.end_to_end_id or None, tx.get("end_to_end_id"))
                    self.assertEqual(line.reason_code or None, tx.get("reason_code"))
                    if tx.get("amount") is not None:
                        self.assertAlmostEqual(line.amount, float(tx["amount"]))
                checked += 1
        self.assertGreater(checked, 5)

    def make_ours(self, result):
        """The sample's bank accounts become the company's (a bank journal each), the
        file it reports on (pain.002) a draft batch of the company."""
        if result.original_msg_id:
            if not self.env["sepa.batch"].search([("name", "=", result.original_msg_id)]):
                self.env["sepa.batch"].create({"journal_id": self.bank_journal.id,
                                               "name": result.original_msg_id})
            return
        journals = self.env["account.journal"].search([("type", "=", "bank")])
        known = set(journals.bank_account_id.mapped("sanitized_acc_number"))
        for number, account in enumerate(set(result.accounts) - known):
            self.env["account.journal"].create({
                "name": f"Sample Bank {account}", "code": f"SB{len(journals) + number}",
                "type": "bank", "company_id": self.company.id,
                "bank_account_id": self.env["res.partner.bank"].create({
                    "acc_number": account, "partner_id": self.company.partner_id.id}).id})


@tagged("post_install", "-at_install")
class TestReturnImportConcurrency(TransactionCase):
    """Two users import the same file at the same moment, on two real connections: the
    database keeps one set of stornos."""

    REFS = ("RACE-TX-1", "RACE-TX-2")

    def setUp(self):
        super().setUp()
        self.connection = db_connect(self.env.cr.dbname)
        self.data = camt054([
            entry([return_tx(f"RACE-E2E-{n}", 10.0 + n, "AM04", ref=ref)], 10.0 + n, f"R{n}")
            for n, ref in enumerate(self.REFS)], msg_id="RACE")
        self.addCleanup(self._cleanup)
        self._own_account()

    def _own_account(self):
        """The company's bank journal gets the file's account, committed (the two
        connections read it) and restored afterwards."""
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            journal = env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1)
            previous = journal.bank_account_id.id
            journal.bank_account_id = env["res.partner.bank"].create({
                "acc_number": CREDITOR_IBAN, "partner_id": env.company.partner_id.id})
            ids = journal.id, journal.bank_account_id.id
            cr.commit()

        def restore():
            with closing(self.connection.cursor()) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["account.journal"].browse(ids[0]).bank_account_id = previous
                env["res.partner.bank"].browse(ids[1]).unlink()
                cr.commit()
        self.addCleanup(restore)

    def _cleanup(self):
        with closing(self.connection.cursor()) as cr:
            cr.execute("DELETE FROM sepa_storno WHERE transaction_ref IN %s", [self.REFS])
            cr.commit()

    def _apply(self, cr):
        env = api.Environment(cr, SUPERUSER_ID, {})
        wizard = env["sepa.return.import"].create({
            "data_file": base64.b64encode(self.data), "filename": "race.xml"})
        wizard.action_preview()
        return wizard.action_apply()

    def test_same_file_imported_by_two_users_at_once(self):
        outcome = {}

        def second_user():
            with closing(self.connection.cursor()) as cr:
                try:
                    self._apply(cr)
                    cr.commit()
                    outcome["second"] = "registered"
                except SerializationFailure:
                    outcome["second"] = "retry"  # Odoo retries such a request
                    cr.rollback()
                except UserError as error:
                    outcome["second"] = str(error)
                    cr.rollback()

        with closing(self.connection.cursor()) as cr1:
            self._apply(cr1)
            thread = threading.Thread(target=second_user)
            thread.start()
            thread.join(timeout=3)
            self.assertTrue(thread.is_alive(), "the second import should wait for the first")
            cr1.commit()
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        if outcome["second"] == "retry":  # the retried request sees the first import
            with closing(self.connection.cursor()) as cr:
                with self.assertRaisesRegex(UserError, "This file was imported on"):
                    self._apply(cr)
                cr.rollback()
        else:
            self.assertIn("registered by another user meanwhile", outcome["second"])
        with closing(self.connection.cursor()) as cr:
            cr.execute("SELECT transaction_ref, state FROM sepa_storno "
                       "WHERE transaction_ref IN %s ORDER BY 1", [self.REFS])
            self.assertEqual(cr.fetchall(), [(ref, "unmatched") for ref in self.REFS])


@tagged("post_install", "-at_install")
class TestReturnImportMigration(TransactionCase):
    """18.0.1.2.0: the file is an attachment, the lines' batch, mandate and customer are
    related; the old columns of the transient tables are dropped."""

    def test_old_columns_dropped(self):
        path = Path(__file__).parent.parent / "migrations" / "18.0.1.2.0" / "pre-migrate.py"
        spec = importlib.util.spec_from_file_location("sepa_import_migration", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        cr = self.env.cr
        cr.execute("""ALTER TABLE sepa_return_import ADD COLUMN IF NOT EXISTS data_file bytea;
                      ALTER TABLE sepa_return_import_line ADD COLUMN IF NOT EXISTS batch_id int4,
                          ADD COLUMN IF NOT EXISTS mandate_id int4,
                          ADD COLUMN IF NOT EXISTS partner_id int4""")
        migration.migrate(cr, None)  # a new installation: nothing to do
        self.assertEqual(self.old_columns(), 4)
        migration.migrate(cr, "18.0.1.1.0")
        self.assertEqual(self.old_columns(), 0)
        # the import works on the migrated tables: the file kept as an attachment
        wizard = self.env["sepa.return.import"].create({
            "data_file": base64.b64encode(b"<Document/>"), "filename": "x.xml"})
        self.assertEqual(wizard._file_bytes(), b"<Document/>")
        self.assertTrue(self.env["ir.attachment"].search_count([
            ("res_model", "=", "sepa.return.import"), ("res_id", "=", wizard.id),
            ("res_field", "=", "data_file")]))

    def old_columns(self):
        self.env.cr.execute("""
            SELECT COUNT(*) FROM information_schema.columns
             WHERE (table_name = 'sepa_return_import' AND column_name = 'data_file')
                OR (table_name = 'sepa_return_import_line'
                    AND column_name IN ('batch_id', 'mandate_id', 'partner_id'))""")
        return self.env.cr.fetchone()[0]
