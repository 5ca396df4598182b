"""A used signing link in the customer's browser (Chromium): the link of a mandate already
signed, and the link of an older e-mail (the mandate's token changed since), each say so
plainly and show nothing to fill in or sign."""

from odoo.tests import tagged

from . import test_mandate_signing as signing
from .common import IBAN_B, SepaCommon, SepaTourCase, SmtpCaseMixin


@tagged("post_install", "-at_install")
class TestUsedSigningLinkTour(SmtpCaseMixin, SepaCommon, SepaTourCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor.email = "penningmeester@eendracht.example"

    # the signing test's own helpers: the link read from the e-mail, the signing call
    send_and_read_link = signing.TestMandateSigning.send_and_read_link
    sign = signing.TestMandateSigning.sign

    def test_tour_link_of_a_signed_mandate(self):
        mandate = self.Mandate.create({"partner_id": self.debtor.id, "name": "MDT-USED-SIGNED"})
        path = self.send_and_read_link(mandate)
        self.assertTrue(self.sign(path).get("force_refresh"))
        self.env.invalidate_all()
        self.assertEqual(mandate.state, "active")
        signed_hash = mandate.signed_hash
        self.start_tour(path, "sepa_mandate_signed_link_tour")
        # opening the link changed nothing
        self.env.invalidate_all()
        self.assertEqual((mandate.state, mandate.signed_hash), ("active", signed_hash))
        self.assertEqual(mandate.partner_bank_id.sanitized_acc_number, IBAN_B)

    def test_tour_link_whose_token_changed(self):
        mandate = self.Mandate.create({"partner_id": self.debtor.id, "name": "MDT-USED-STALE"})
        path = self.send_and_read_link(mandate)
        # a newer link was made since (the mandate's token changed): this one is stale
        mandate.access_token = "0f0f0f0f-new-token"
        self.start_tour(path, "sepa_mandate_stale_link_tour")
        self.env.invalidate_all()
        self.assertEqual(mandate.state, "draft")
        self.assertFalse(mandate.signed_online)
