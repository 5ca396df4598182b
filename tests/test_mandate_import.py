"""Moving in: existing mandates through Odoo's standard import (base_import, the Test
button's dry run, then for real) and the conversion wizard, on a real database."""

import base64
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.misc import file_open

from .common import IBAN_C, SepaBatchCommon

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
IBAN_NEW = "NL85ABNA0417164311"
IBAN_NEW_2 = "NL43INGB0005556667"
IBAN_NEW_3 = "NL39RABO0300065264"
HEADER = ("Customer,Account Holder,IBAN,BIC,Mandate Reference,Signature Date,Type,Scheme,"
          "State,Last Collection Date,Collected Before")
#: The column each header of the template is matched to.
COLUMNS = ["import_customer", "import_account_holder", "import_iban", "import_bic", "name",
           "signature_date", "mandate_type", "scheme", "state",
           "import_last_collection_date", "import_collected_before"]
OPTIONS = {"has_headers": True, "separator": ",", "quoting": '"', "encoding": "utf-8",
           "date_format": "%Y-%m-%d"}


@tagged("post_install", "-at_install")
class TestMandateImport(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.today()
        Partner = cls.env["res.partner"]
        cls.by_ref = Partner.create({"name": "Jan Bakker", "ref": "K0001"})
        cls.by_vat = Partner.create({"name": "Bakkerij Smit B.V.", "is_company": True,
                                     "vat": "NL123456782B01"})
        cls.by_name = Partner.create({"name": "Marieke Jansen"})
        cls.known_bank = cls.env["res.partner.bank"].create(
            {"acc_number": IBAN_C, "partner_id": cls.by_name.id})

    # helpers ------------------------------------------------------------

    def date(self, **delta):
        return fields.Date.to_string(self.today - relativedelta(**delta))

    def csv(self, *rows):
        return "\n".join([HEADER, *rows]).encode()

    def wizard(self, data, env=None):
        return (env or self.env)["base_import.import"].create({
            "res_model": "sepa.mandate", "file": data, "file_name": "mandates.csv",
            "file_type": "text/csv"})

    def run_import(self, data, dryrun, env=None):
        return self.wizard(data, env).execute_import(COLUMNS, HEADER.split(","),
                                                     dict(OPTIONS), dryrun=dryrun)

    def counts(self):
        return (self.Mandate.search_count([]),
                self.env["res.partner.bank"].search_count([]),
                self.env["res.bank"].search_count([]))

    def errors(self, result):
        """``{(row, column): message}`` of an import's answer."""
        return {(message["message"].split(",")[0], message["field"]): message["message"]
                for message in result["messages"]}

    def good_rows(self):
        return [
            f"K0001,J. Bakker,{IBAN_NEW},ABNANL2A,LID-0001,2016-03-01,Recurring,CORE,,"
            f"{self.date(months=2)},yes",
            f"Marieke Jansen,,{IBAN_C.lower()},,LID-0002,{self.date(months=1)},Recurring,"
            "CORE,Active,,no",
            "NL123456782B01,,,,LID-0003,,One-off,B2B,To Sign,,no",
        ]

    # the template -------------------------------------------------------

    def test_template_is_offered_and_matches_the_columns(self):
        [template] = self.Mandate.get_import_templates()
        path = template["template"].lstrip("/")
        with file_open(path, "rb") as handle:
            data = handle.read()
        wizard = self.wizard(data)
        preview = wizard.parse_preview(dict(OPTIONS))
        self.assertFalse(preview.get("error"), preview)
        matched = [("/".join(preview["matches"].get(index, [])))
                   for index in range(len(preview["headers"]))]
        self.assertEqual(matched, COLUMNS)
        # the template's rows import as they are (with a customer K0002)
        self.env["res.partner"].create({"name": "Piet de Vries", "ref": "K0002"})
        result = wizard.execute_import(matched, preview["headers"], dict(OPTIONS),
                                       dryrun=True)
        self.assertEqual(result["messages"], [])
        self.assertEqual(len(result["ids"]), 3)

    # importing ----------------------------------------------------------

    def test_import_collected_before_active_rcur_account_matched_or_created(self):
        self.by_ref.sepa_collect = True  # marked before: it got a mandate to sign
        placeholder = self.by_ref.sepa_mandate_ids
        self.assertEqual(placeholder.state, "draft")
        before = self.counts()
        data = self.csv(*self.good_rows())
        test = self.run_import(data, dryrun=True)  # the Test button
        self.assertEqual(test["messages"], [])
        self.assertEqual(self.counts(), before, "the test keeps nothing")
        self.env.invalidate_all()  # the Test button's request ends with its rollback
        result = self.run_import(data, dryrun=False)
        self.assertEqual(result["messages"], [])
        collected, signed, to_sign = self.Mandate.browse(result["ids"])
        self.assertRecordValues(collected | signed | to_sign, [
            {"name": "LID-0001", "partner_id": self.by_ref.id, "state": "active",
             "converted": True, "sequence_type": "recurring",
             "last_debit_date": self.today - relativedelta(months=2),
             "signature_date": fields.Date.to_date("2016-03-01"), "scheme": "CORE",
             "mandate_type": "recurring", "company_id": self.company.id},
            {"name": "LID-0002", "partner_id": self.by_name.id, "state": "active",
             "converted": False, "sequence_type": "first", "last_debit_date": False,
             "signature_date": self.today - relativedelta(months=1), "scheme": "CORE",
             "mandate_type": "recurring", "company_id": self.company.id},
            {"name": "LID-0003", "partner_id": self.by_vat.id, "state": "draft",
             "converted": False, "sequence_type": "first", "last_debit_date": False,
             "signature_date": False, "scheme": "B2B",
             "mandate_type": "one_off", "company_id": self.company.id},
        ])
        self.assertEqual(signed.partner_bank_id, self.known_bank)  # matched
        self.assertFalse(to_sign.partner_bank_id)
        # the account created on the customer, with the holder and the bank of the BIC
        self.assertRecordValues(collected.partner_bank_id, [{
            "partner_id": self.by_ref.id, "sanitized_acc_number": IBAN_NEW,
            "acc_holder_name": "J. Bakker"}])
        self.assertEqual(collected.partner_bank_id.bank_id.bic, "ABNANL2A")
        self.assertEqual(collected.debtor_bic, "ABNANL2A")
        self.assertEqual(self.counts()[:2], (before[0] + 3, before[1] + 1))
        # collected by direct debit from now on, without an extra mandate to sign
        self.assertTrue(self.by_ref.sepa_collect)
        self.assertTrue(self.by_name.sepa_collect)
        self.assertFalse(self.by_vat.sepa_collect)  # a one-off mandate to sign
        self.assertEqual(self.by_name.sepa_mandate_ids, signed, "no extra mandate to sign")
        # the mandate to sign the collected one replaces is closed, with a note
        self.assertEqual(placeholder.state, "closed")
        self.assertIn(f"data-oe-id=\"{collected.id}\">LID-0001</a>, taken over",
                      placeholder.message_ids[0].body)
        # the first debit under the collected mandate in the next batch is RCUR
        invoice = self.invoice(self.by_ref, 25.0)
        invoice_2 = self.invoice(self.by_name, 30.0)
        batch = self.create_batch(invoice_ids=[Command.set((invoice | invoice_2).ids)])
        batch.action_generate()
        root = etree.fromstring(base64.b64decode(batch.file))
        types = {info.findtext(".//p:MndtId", namespaces=NS):
                 info.findtext(".//p:SeqTp", namespaces=NS)
                 for info in root.iterfind(".//p:PmtInf", namespaces=NS)}
        self.assertEqual(types, {"LID-0001": "RCUR", "LID-0002": "FRST"})

    def test_expiry_counts_from_the_last_collection_date(self):
        result = self.run_import(self.csv(
            f"K0001,,{IBAN_NEW},,LID-0001,2015-01-01,,,,{self.date(months=2)},yes",
            f"Marieke Jansen,,{IBAN_C},,LID-0002,2015-01-01,,,,{self.date(months=37)},yes",
        ), dryrun=False)
        self.assertEqual(result["messages"], [])
        recent, old = self.Mandate.browse(result["ids"])
        self.assertEqual((recent | old).mapped("state"), ["active", "active"])
        self.Mandate._cron_expire_mandates()
        self.assertEqual((recent | old).mapped("state"), ["active", "expired"])

    def test_every_row_error_named_by_row_and_column_nothing_kept(self):
        before = self.counts()
        tomorrow = fields.Date.to_string(self.today + timedelta(days=1))
        data = self.csv(
            *self.good_rows()[:1],                                            # row 2
            "K0001,,NL85ABNA0417164312,,LID-0010,2020-01-01,,,,,no",           # 3 IBAN
            f"K0001,,{IBAN_NEW},,MDT-FIRST,2020-01-01,,,,,no",                # 4 taken
            f"K0001,,{IBAN_NEW},,LID-0001,2020-01-01,,,,,no",                 # 5 twice
            f"Nobody,,{IBAN_NEW},,LID-0011,2020-01-01,,,,,no",                # 6 customer
            f"K0001,,{IBAN_NEW},,LID-0012,{tomorrow},,,,,no",                 # 7 future
            f"K0001,,,,LID-0013,2020-01-01,,,,{self.date(months=1)},yes",     # 8 no IBAN
            f"K0001,,{IBAN_NEW},,LID-0014,2020-01-01,,,,,perhaps",            # 9 yes/no
        )
        expected = {
            ("Row 3", "import_iban"), ("Row 4", "name"), ("Row 5", "name"),
            ("Row 6", "import_customer"), ("Row 7", "signature_date"),
            ("Row 8", "import_iban"), ("Row 9", "import_collected_before"),
        }
        for dryrun in (True, False):
            result = self.run_import(data, dryrun=dryrun)
            self.assertFalse(result["ids"])
            errors = self.errors(result)
            self.assertEqual(set(errors), expected)
            self.assertEqual(self.counts(), before, "nothing of a failing file is kept")
        self.assertIn("NL85ABNA0417164312 is not a valid IBAN", errors["Row 3", "import_iban"])
        self.assertIn("Row 3, IBAN:", errors["Row 3", "import_iban"])
        self.assertIn("MDT-FIRST already exists", errors["Row 4", "name"])
        self.assertIn("also on row 2", errors["Row 5", "name"])
        self.assertIn("no customer has the reference, VAT number or name Nobody",
                      errors["Row 6", "import_customer"])
        self.assertIn("is in the future", errors["Row 7", "signature_date"])
        self.assertIn("needs the debtor's IBAN", errors["Row 8", "import_iban"])
        # every message is attached to its row for the import dialog
        rows = sorted(message["record"] for message in result["messages"])
        self.assertEqual(rows, [1, 2, 3, 4, 5, 6, 7])

    def test_other_columns_go_through_the_standard_load(self):
        """A column the template has not (here the external id): Odoo's own load
        creates the mandates from the checked rows, with the same result."""
        data = self.csv(*self.good_rows()[:2]).decode().splitlines()
        data = "\n".join(line + ("," + ("id" if not i else f"legacy.mandate_{i}"))
                         for i, line in enumerate(data)).encode()
        result = self.wizard(data).execute_import(
            [*COLUMNS, "id"], [*HEADER.split(","), "id"], dict(OPTIONS), dryrun=False)
        self.assertEqual(result["messages"], [])
        collected, signed = self.Mandate.browse(result["ids"])
        self.assertEqual(self.env.ref("legacy.mandate_1"), collected)
        self.assertRecordValues(collected | signed, [
            {"name": "LID-0001", "state": "active", "converted": True,
             "sequence_type": "recurring",
             "last_debit_date": self.today - relativedelta(months=2)},
            {"name": "LID-0002", "state": "active", "converted": False,
             "sequence_type": "first", "last_debit_date": False},
        ])
        self.assertEqual(collected.partner_bank_id.sanitized_acc_number, IBAN_NEW)
        self.assertEqual(signed.partner_bank_id, self.known_bank)

    def test_batches_of_the_import_dialog(self):
        """The dialog's batch limit: the next row to import, and rows named as the file
        numbers them in a later batch."""
        rows = self.good_rows()
        wizard = self.wizard(self.csv(rows[0], rows[1], rows[2].replace("NL123456782B01",
                                                                        "Nobody")))
        first = wizard.execute_import(COLUMNS, HEADER.split(","), dict(OPTIONS, limit=2),
                                      dryrun=False)
        self.assertEqual((first["messages"], len(first["ids"]), first["nextrow"]),
                         ([], 2, 2))
        second = wizard.execute_import(COLUMNS, HEADER.split(","),
                                       dict(OPTIONS, limit=2, skip=2), dryrun=False)
        self.assertFalse(second["ids"])
        self.assertEqual(set(self.errors(second)), {("Row 4", "import_customer")})
        whole = self.run_import(self.csv(rows[2]), dryrun=False)
        self.assertEqual((len(whole["ids"]), whole["nextrow"]), (1, 0))

    def test_import_columns_are_for_the_import_only(self):
        mandate = self.mandate_first
        self.assertEqual(mandate.import_iban, self.debtor_bank.acc_number)
        self.assertEqual(mandate.import_customer, self.debtor.name)
        with self.assertRaisesRegex(Exception, "import columns"):
            mandate.import_iban = IBAN_NEW

    # access -------------------------------------------------------------

    def test_billing_user_imports_into_the_current_company(self):
        billing = new_test_user(self.env, login="sepa_import_billing",
                                groups="account.group_account_invoice",
                                company_id=self.company.id)
        env = self.env(user=billing)
        self.assertTrue(billing.has_group("sepa_direct_debit.group_sepa_user"))
        # known accounts: imported
        result = self.run_import(self.csv(
            f"Marieke Jansen,,{IBAN_C},,LID-0101,2020-01-01,,,Active,,"), False, env)
        self.assertEqual(result["messages"], [])
        self.assertEqual(self.Mandate.browse(result["ids"]).create_uid, billing)
        # a new account needs the right to add bank accounts: one clear message
        result = self.run_import(self.csv(
            f"K0001,,{IBAN_NEW},,LID-0102,2020-01-01,,,Active,,"), False, env)
        self.assertFalse(result["ids"])
        self.assertIn("may not add bank accounts", result["messages"][0]["message"])
        billing.groups_id = [Command.link(self.env.ref("base.group_partner_manager").id)]
        result = self.run_import(self.csv(
            f"K0001,,{IBAN_NEW},,LID-0102,2020-01-01,,,Active,,"), False, env)
        self.assertEqual(result["messages"], [])

    def test_mandates_belong_to_the_importing_company(self):
        other = self.setup_other_company(name="Tweede Vereniging")["company"]
        own = self.env["res.partner"].create(
            {"name": "Klant B", "ref": "B001", "company_id": other.id})
        self.env["res.partner"].create(
            {"name": "Klant A", "ref": "A001", "company_id": self.company.id})
        self.env.flush_all()  # before the Test button's savepoint, as in real life
        env = self.env(context=dict(self.env.context,
                                    allowed_company_ids=[other.id, self.company.id]))
        result = self.run_import(self.csv(
            f"B001,,{IBAN_NEW_2},,LID-B1,2020-01-01,,,,{self.date(months=1)},yes",
            f"A001,,{IBAN_NEW_3},,LID-B2,2020-01-01,,,,{self.date(months=1)},yes",
        ), True, env)
        # a customer of another company is unknown here
        self.assertEqual(set(self.errors(result)), {("Row 3", "import_customer")})
        self.env.invalidate_all()  # the Test button's request ends with its rollback
        result = self.run_import(self.csv(
            f"B001,,{IBAN_NEW_2},,LID-0001,2020-01-01,,,,{self.date(months=1)},yes",
        ), False, env)
        self.assertEqual(result["messages"], [])
        mandate = self.Mandate.browse(result["ids"])
        self.assertRecordValues(mandate, [{"company_id": other.id, "partner_id": own.id,
                                           "state": "active"}])


@tagged("post_install", "-at_install")
class TestMandateConversion(SepaBatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.p_paid = Partner.create({"name": "Lid Betaald", "ref": "1001",
                                     "bank_ids": [Command.create({"acc_number": IBAN_NEW})]})
        cls.p_unpaid = Partner.create({"name": "Lid Nieuw", "ref": "1002"})
        cls.p_bare = Partner.create({"name": "Lid Zonder", "ref": "1003",
                                     "bank_ids": [Command.create({"acc_number": IBAN_NEW_2})]})
        cls.members = cls.p_paid | cls.p_unpaid | cls.p_bare
        cls.members.sepa_collect = True  # each gets a mandate to sign
        cls.p_bare.sepa_mandate_ids.unlink()  # ... except this one (e.g. loaded by SQL)

    def convert(self, **values):
        wizard = self.env["sepa.mandate.conversion"].with_context(
            active_model="res.partner", active_ids=self.members.ids).create(values)
        return wizard

    def test_everyone_collected_before_on_a_date(self):
        last = fields.Date.today() - relativedelta(months=1)
        wizard = self.convert(collected_before="date", last_collection_date=last)
        self.assertEqual(wizard.partner_ids, self.members)
        self.assertEqual((wizard.convert_count, wizard.sign_count), (2, 0))
        self.assertIn("Customers skipped, no valid IBAN: 1 (Lid Nieuw)", wizard.preview)
        draft = self.p_paid.sepa_mandate_ids
        action = wizard.action_convert()
        # the title the web client shows (it prefers display_name to name)
        self.assertEqual(action["display_name"], "Converted Mandates")
        mandates = self.Mandate.search(action["domain"])
        self.assertRecordValues(mandates.sorted(lambda m: m.partner_id != self.p_paid), [
            {"partner_id": self.p_paid.id, "state": "active", "converted": True,
             "last_debit_date": last, "signature_date": last,
             "sequence_type": "recurring", "partner_bank_id": self.p_paid.bank_ids.id},
            {"partner_id": self.p_bare.id, "state": "active", "converted": True,
             "last_debit_date": last, "signature_date": last,
             "sequence_type": "recurring", "partner_bank_id": self.p_bare.bank_ids.id},
        ])
        self.assertEqual(draft.state, "closed", "the mandate to sign it replaces")
        self.assertIn("replaced by mandate", draft.message_ids[0].body)
        # its first debit in the next batch is RCUR
        invoice = self.invoice(self.p_paid, 12.5)
        wizard = self.propose(invoice_ids=[Command.set(invoice.ids)])
        self.assertEqual(wizard.line_ids.sequence_type, "RCUR")

    def test_preview_in_the_dialog_counts_what_creating_does(self):
        """The dialog's preview is computed on an unsaved wizard (the customers are new
        records there): it counts what Create Mandates then does."""
        last = fields.Date.today() - relativedelta(months=1)
        form = Form(self.env["sepa.mandate.conversion"].with_context(
            active_model="res.partner", active_ids=self.members.ids))
        form.last_collection_date = last
        self.assertEqual(form.preview.splitlines(), [
            "Customers getting an active converted mandate (next debit Recurring): 2",
            "Customers getting a mandate to sign: 0",
            "Customers with a mandate to sign already (nothing to do): 0",
            "Customers skipped, no valid IBAN: 1 (Lid Nieuw)",
        ])
        form.collected_before = "none"
        self.assertEqual(form.preview.splitlines()[:3], [
            "Customers getting an active converted mandate (next debit Recurring): 0",
            "Customers getting a mandate to sign: 1",
            "Customers with a mandate to sign already (nothing to do): 2",
        ])
        form.collected_before = "date"
        form.reference_source = "customer"
        form.reference_prefix = "LID-"
        self.assertIn("Customers getting an active converted mandate (next debit "
                      "Recurring): 2", form.preview)
        wizard = form.save()
        mandates = self.Mandate.search(wizard.action_convert()["domain"])
        self.assertEqual(sorted(mandates.mapped("name")), ["LID-1001", "LID-1003"])
        self.assertEqual(set(mandates.mapped("state")), {"active"})

    def test_collected_when_a_payment_was_received_references_kept(self):
        paid_on = fields.Date.today() - relativedelta(days=40)
        receivable = self.p_paid.property_account_receivable_id
        payment = self.env["account.move"].create({
            "journal_id": self.bank_journal.id, "date": paid_on, "line_ids": [
                Command.create({"account_id": receivable.id, "partner_id": self.p_paid.id,
                                "credit": 20.0, "name": "Contributie"}),
                Command.create({"account_id": self.bank_journal.default_account_id.id,
                                "debit": 20.0, "name": "Contributie"}),
            ]})
        payment.action_post()
        wizard = self.convert(collected_before="payment", reference_source="customer",
                              reference_prefix="LID-")
        self.assertEqual((wizard.convert_count, wizard.sign_count), (1, 1))
        self.assertIn("Customers with a mandate to sign already (nothing to do): 1", wizard.preview)
        action = wizard.action_convert()
        mandates = self.Mandate.search(action["domain"], order="name")
        self.assertRecordValues(mandates, [
            {"name": "LID-1001", "partner_id": self.p_paid.id, "state": "active",
             "last_debit_date": paid_on, "sequence_type": "recurring", "converted": True},
            {"name": "LID-1003", "partner_id": self.p_bare.id, "state": "draft",
             "last_debit_date": False, "sequence_type": "first", "converted": False},
        ])
        self.assertEqual(mandates[1].partner_bank_id, self.p_bare.bank_ids)
        self.assertEqual(self.p_unpaid.sepa_mandate_ids.mapped("state"), ["draft"])
        # converted customers are no longer candidates: nothing left to do
        again = self.convert(collected_before="payment")
        self.assertEqual((again.convert_count, again.sign_count), (0, 0))

    def test_billing_user_converts_in_the_current_company_only(self):
        other = self.setup_other_company(name="Tweede Vereniging")["company"]
        foreign = self.env["res.partner"].create({
            "name": "Lid Elders", "company_id": other.id, "sepa_collect": True})
        billing = new_test_user(self.env, login="sepa_convert_billing",
                                groups="account.group_account_invoice",
                                company_id=self.company.id,
                                company_ids=[Command.set([self.company.id, other.id])])
        env = self.env(user=billing, context={"allowed_company_ids": [self.company.id]})
        wizard = env["sepa.mandate.conversion"].create({
            "collected_before": "date",
            "last_collection_date": fields.Date.today() - relativedelta(days=10)})
        self.assertIn(self.p_bare, wizard.partner_ids)
        self.assertNotIn(foreign, wizard.partner_ids)
        mandates = self.Mandate.search(wizard.action_convert()["domain"])
        self.assertEqual(set(mandates.mapped("company_id.id")), {self.company.id})
        self.assertEqual(mandates.create_uid, billing)
        # a user working in the other company does not see this conversion
        with self.assertRaises(AccessError):
            wizard.with_context(allowed_company_ids=[other.id]).read(["preview"])
