from odoo.addons.account.tests.common import AccountTestInvoicingCommon

CREDITOR_ID = "NL69ZZZ123456780000"
IBAN_A = "NL20INGB0001234567"
IBAN_B = "NL91ABNA0417164300"
IBAN_C = "NL44RABO0123456789"


class SepaCommon(AccountTestInvoicingCommon):
    """Company with a creditor identifier and a customer with a valid IBAN."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.sepa_creditor_identifier = CREDITOR_ID
        cls.debtor = cls.env["res.partner"].create({
            "name": "Vereniging De Eendracht",
            "is_company": True,
            "street": "Oudegracht 12",
            "zip": "3511 AB",
            "city": "Utrecht",
            "country_id": cls.env.ref("base.nl").id,
        })
        cls.debtor_bank = cls.env["res.partner.bank"].create({
            "acc_number": IBAN_A,
            "partner_id": cls.debtor.id,
        })
        cls.Mandate = cls.env["sepa.mandate"]

    @classmethod
    def create_mandate(cls, **values):
        return cls.Mandate.create({
            "partner_id": cls.debtor.id,
            "partner_bank_id": cls.debtor_bank.id,
            "signature_date": "2025-01-15",
            **values,
        })

    @classmethod
    def create_active_mandate(cls, **values):
        mandate = cls.create_mandate(**values)
        mandate.action_activate()
        return mandate
