from lxml import etree

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import SepaCommon


@tagged("post_install", "-at_install")
class TestCompanySettings(SepaCommon):
    def test_creditor_identifier_validated_and_normalised(self):
        with self.assertRaisesRegex(ValidationError, "NL00ZZZ123456780000 is not a valid"):
            self.company.sepa_creditor_identifier = "NL00ZZZ123456780000"
        self.company.sepa_creditor_identifier = "nl69 zzz 1234 5678 0000"
        self.assertEqual(self.company.sepa_creditor_identifier, "NL69ZZZ123456780000")

    def test_settings_write_to_company(self):
        settings = self.env["res.config.settings"].create({
            "sepa_creditor_identifier": "DE98ZZZ09999999999",
            "sepa_oneoff_reuse_after_storno": True,
        })
        settings.execute()
        self.assertRecordValues(self.company, [{
            "sepa_creditor_identifier": "DE98ZZZ09999999999",
            "sepa_oneoff_reuse_after_storno": True,
        }])

    def test_maximum_bank_charge_per_storno(self):
        self.assertEqual(self.company.sepa_storno_max_charge, 10.0)
        self.env["res.config.settings"].create({"sepa_storno_max_charge": 4.5}).execute()
        self.assertEqual(self.company.sepa_storno_max_charge, 4.5)
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.company.sepa_storno_max_charge = -1.0

    def test_missing_creditor_identifier_is_a_clear_error(self):
        mandate = self.create_active_mandate()
        self.company.sepa_creditor_identifier = False
        with self.assertRaisesRegex(UserError, "has no SEPA creditor identifier"):
            mandate.action_print_mandate()

    def test_settings_page_shows_every_company_option(self):
        options = {fname for fname in self.company._fields if fname.startswith("sepa_")}
        self.assertEqual(len(options), 26)
        arch = self.env["res.config.settings"].get_views([(False, "form")])[
            "views"]["form"]["arch"]
        # The settings fields have the names of the company's.
        self.assertEqual({fname for fname in options if f'name="{fname}"' in arch}, options)

    def test_settings_page_leaves_no_wrong_box_to_tick(self):
        """Odoo's Enterprise upsell "SEPA Direct Debit (SDD)" is hidden (it would install
        another module), and Odoo's "Storno Accounting" says that it is not about failed
        debits, pointing at the addon's block."""
        self.env.user.groups_id += self.env.ref("account.group_account_user")
        arch = etree.fromstring(self.env["res.config.settings"].get_views(
            [(False, "form")])["views"]["form"]["arch"])
        upsell = arch.xpath("//setting[@id='collect_customer_payment']")
        self.assertTrue(upsell)
        self.assertEqual(upsell[0].get("invisible"), "1")
        storno = arch.xpath("//setting[@id='enable_storno_accounting']")[0]
        self.assertIn("not failed direct debits", storno.get("help"))
        note = arch.xpath("//block[@id='sepa_direct_debit_settings']"
                          "//div[@name='sepa_settings_note']")
        self.assertTrue(note)
        self.assertIn("Storno Accounting", "".join(note[0].itertext()))

    def test_journal_form_shows_pain_version(self):
        arch = self.env["account.journal"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="sepa_pain_version"', arch)

    # ------------------------------------------------------------------
    # storno fees switched on through the settings page
    # ------------------------------------------------------------------

    def test_fees_switched_on_through_the_settings_form(self):
        """Tick the option, pick the product, save: both reach the company together (the
        option was written, and refused, before the product)."""
        product = self._create_product(name="Stornokosten", type="service", lst_price=4.5)
        self.company.write({"sepa_storno_fee_invoice": False,
                            "sepa_storno_fee_product_id": False})
        form = Form(self.env["res.config.settings"])
        self.assertFalse(form.sepa_storno_fee_invoice)
        form.sepa_storno_fee_invoice = True
        form.sepa_storno_fee_product_id = product
        form.save().execute()
        self.assertRecordValues(self.company, [{
            "sepa_storno_fee_invoice": True, "sepa_storno_fee_product_id": product.id}])
        # and off again, the product kept
        form = Form(self.env["res.config.settings"])
        self.assertEqual(form.sepa_storno_fee_product_id, product)
        form.sepa_storno_fee_invoice = False
        form.save().execute()
        self.assertRecordValues(self.company, [{
            "sepa_storno_fee_invoice": False, "sepa_storno_fee_product_id": product.id}])

    def test_settings_form_refuses_fees_without_a_product(self):
        self.company.write({"sepa_storno_fee_invoice": False,
                            "sepa_storno_fee_product_id": False})
        settings = self.env["res.config.settings"].create({"sepa_storno_fee_invoice": True})
        with self.assertRaisesRegex(ValidationError, "Choose the storno fee product"), \
                self.env.cr.savepoint():
            settings.execute()
        self.assertFalse(self.company.sepa_storno_fee_invoice)

    # ------------------------------------------------------------------
    # accounts and fee product of a company with a chart of accounts
    # ------------------------------------------------------------------

    def assert_direct_debit_setup(self, company):
        """The company's own transit, stornos outstanding and storno charges accounts,
        and its storno fee product."""
        transit = company.sepa_transit_account_id
        outstanding = company.sepa_storno_account_id
        charges = company.sepa_storno_charge_account_id
        self.assertRecordValues(transit | outstanding | charges, [
            {"name": "Direct Debits in Transit", "account_type": "asset_current",
             "reconcile": True, "company_ids": company.ids},
            {"name": "Direct Debit Stornos Outstanding", "account_type": "asset_current",
             "reconcile": True, "company_ids": company.ids},
            {"name": "Direct Debit Storno Charges", "account_type": "expense",
             "reconcile": False, "company_ids": company.ids},
        ])
        codes = (transit | outstanding | charges).with_company(company).mapped("code")
        self.assertEqual(len(set(codes)), 3)
        self.assertNotIn(company.transfer_account_id, transit | outstanding)
        # the settings page shows them
        settings = self.env["res.config.settings"].with_company(company).sudo().create({})
        self.assertRecordValues(settings, [{
            "sepa_transit_account_id": transit.id, "sepa_storno_account_id": outstanding.id,
            "sepa_storno_charge_account_id": charges.id}])
        self.assertRecordValues(company.sepa_storno_fee_product_id, [{
            "name": "Storno Fee", "type": "service", "company_id": company.id,
            "lst_price": 0.0, "sale_ok": True, "purchase_ok": False}])
        self.assertFalse(company.sepa_storno_fee_invoice, "fees stay off until switched on")
        return transit, outstanding, charges

    def test_company_of_the_install_has_its_accounts(self):
        company = self.env.ref("base.main_company").sudo()  # not the test user's
        self.assertTrue(company.chart_template)
        transit, outstanding, charges = self.assert_direct_debit_setup(company)
        # next to the liquidity transfer account and the cash difference loss account
        self.assertEqual(transit.with_company(company).code, "101702")
        self.assertEqual(outstanding.with_company(company).code, "101703")
        self.assertEqual(charges.with_company(company).code, "642001")
        self.assertEqual(company.sepa_storno_fee_product_id.taxes_id,
                         company.account_sale_tax_id)

    def test_chart_loaded_later_gives_the_accounts(self):
        company = self.env["res.company"].create({
            "name": "Zangvereniging Later", "country_id": self.env.ref("base.nl").id,
            "currency_id": self.env.ref("base.EUR").id})
        self.assertFalse(company.chart_template)
        self.assertFalse(company.sepa_transit_account_id | company.sepa_storno_account_id
                         | company.sepa_storno_charge_account_id)
        self.env.user.company_ids |= company
        self.env["account.chart.template"].try_loading("generic_coa", company, False)
        self.assert_direct_debit_setup(company)
        # loading the chart again keeps them (nothing made twice)
        fields = ("sepa_transit_account_id", "sepa_storno_account_id",
                  "sepa_storno_charge_account_id", "sepa_storno_fee_product_id")
        before = company.read(fields)
        self.env["account.chart.template"].try_loading("generic_coa", company, False)
        self.assertEqual(company.read(fields), before)

    def test_fee_product_taxed_in_the_fiscal_country_or_not_at_all(self):
        """The generic chart's default sales tax is American: a company whose fiscal
        country is the Netherlands gets a fee product without tax, and with its Dutch
        default sales tax once it has one."""
        company = self.company
        company.account_fiscal_country_id = self.env.ref("base.nl")
        self.assertEqual(company.account_sale_tax_id.country_id, self.env.ref("base.us"))
        company.sepa_storno_fee_product_id = False
        company._sepa_setup_direct_debit()
        self.assertFalse(company.sepa_storno_fee_product_id.taxes_id)
        nl = self.env.ref("base.nl")
        dutch_vat = self.env["account.tax"].create({
            "name": "BTW 21%", "amount": 21.0, "type_tax_use": "sale",
            "company_id": company.id, "country_id": nl.id,
            "tax_group_id": self.env["account.tax.group"].create({
                "name": "BTW 21%", "company_id": company.id, "country_id": nl.id}).id})
        company.account_sale_tax_id = dutch_vat
        company.sepa_storno_fee_product_id = False
        company._sepa_setup_direct_debit()
        self.assertEqual(company.sepa_storno_fee_product_id.taxes_id, dutch_vat)
        self.assertFalse(company.sepa_storno_fee_product_id.supplier_taxes_id)
