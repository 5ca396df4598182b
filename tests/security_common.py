from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import SepaBatchCommon

CREDITOR_ID_B = "NL08ZZZ502057730000"
CREDITOR_IBAN_B = "NL31INGB0001122334"
IBAN_SECRET_B = "NL02ABNA0123456789"


def return_file(account, debtor_name, debtor_iban, e2e="UNKNOWN-1"):
    """A camt.054 of bank account ``account`` returning a debit no batch made: its import
    keeps the debtor's name and IBAN (an unmatched transaction)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>RETURNS</MsgId></GrpHdr><Ntfctn><Acct><Id><IBAN>{account}</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn>
</BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>{debtor_name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{debtor_iban}</IBAN></Id>
</DbtrAcct></RltdPties><RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


class SepaTwoCompaniesCommon(SepaBatchCommon):
    """Two euro companies A and B, each with its creditor identifier, bank journal,
    customers with mandates and posted invoices and a batch; the users of the access
    matrix: plain internal, billing (Direct Debit: User), accounting manager (Direct
    Debit: Manager), portal, and a billing user in both companies with only A active."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.setup_other_company(
            name="Stichting Bedrijf B", currency_id=cls.env.ref("base.EUR").id)["company"]
        cls.company_b.sepa_creditor_identifier = CREDITOR_ID_B
        cls.bank_journal_b = cls.env["account.journal"].create({
            "name": "Bank B", "code": "BNKB", "type": "bank", "company_id": cls.company_b.id,
            "bank_account_id": cls.env["res.partner.bank"].create({
                "acc_number": CREDITOR_IBAN_B, "partner_id": cls.company_b.partner_id.id,
            }).id,
        })
        cls.debtor_b, cls.mandate_b = cls.create_debtor(
            "Geheime Klant B", IBAN_SECRET_B, name="MDT-B-GEHEIM", company_id=cls.company_b.id,
            sequence_type="recurring")
        cls.bank_b = cls.mandate_b.partner_bank_id
        cls.customer_only_b = cls.env["res.partner"].create({
            "name": "Klant Alleen B", "company_id": cls.company_b.id})
        # recurring mandates: a first debit pending in one batch would keep the next out
        cls.invoices_a = list(cls.invoices(cls.recurring_partner, [10.0, 20.0, 30.0]))
        cls.invoices_b = list(cls.invoices(cls.debtor_b, [11.0, 21.0, 31.0],
                                           company=cls.company_b))
        cls.batch_a, cls.draft_batch_a = cls.make_batches(cls.company_a, cls.bank_journal,
                                                          cls.invoices_a)
        cls.batch_b, cls.draft_batch_b = cls.make_batches(cls.company_b, cls.bank_journal_b,
                                                          cls.invoices_b)
        cls.users = cls.make_users()
        cls.user_b = new_test_user(cls.env, login="sepa_billing_b",
                                   groups="account.group_account_invoice",
                                   company_id=cls.company_b.id)
        # What a user of company A must never be shown of company B.
        cls.secrets_b = [
            "Geheime Klant B", "Klant Alleen B", IBAN_SECRET_B, cls.bank_b.acc_number,
            "MDT-B-GEHEIM",
            cls.batch_b.name, cls.draft_batch_b.name, *(inv.name for inv in cls.invoices_b),
        ]

    @classmethod
    def make_batches(cls, company, journal, invoices):
        """A batch with its file generated (pain.008 attachment, chatter) for the first
        invoice, a draft batch for the second; the third stays free."""
        batches = []
        for invoice in invoices[:2]:
            wizard = cls.env["sepa.batch.proposal"].with_company(company).create({
                "company_id": company.id, "journal_id": journal.id,
                "invoice_ids": [(6, 0, invoice.ids)]})
            wizard.action_propose()
            action = wizard.action_create_batch()
            batches.append(cls.env["sepa.batch"].browse(action["res_id"]))
        batches[0].action_generate()
        return batches

    @classmethod
    def make_users(cls):
        a, b = cls.company_a, cls.company_b
        # Internal users get what Odoo's default user template gives: contact creation
        # and export.
        default = "base.group_partner_manager,base.group_allow_export"
        specs = {
            "plain": (f"base.group_user,{default}", a, a),
            "billing": (f"account.group_account_invoice,{default}", a, a),
            "manager": (f"account.group_account_manager,{default}", a, a),
            "portal": ("base.group_portal", a, a),
            "multi": (f"account.group_account_invoice,{default}", a, a | b),
        }
        return {
            role: new_test_user(cls.env, login=f"sepa_{role}", groups=groups,
                                company_id=company.id, company_ids=[(6, 0, companies.ids)])
            for role, (groups, company, companies) in specs.items()
        }

    def env_of(self, role):
        """The user's environment with only company A active (as the web client)."""
        return self.env(user=self.users[role], context={"allowed_company_ids":
                                                        [self.company_a.id]})

    def found(self, model, domain):
        """What the user finds; nothing when they may not search at all."""
        try:
            return bool(model.search(domain))
        except AccessError:
            return False

    def assertNoSecretOfB(self, text):
        for secret in self.secrets_b:
            self.assertNotIn(secret, text)
