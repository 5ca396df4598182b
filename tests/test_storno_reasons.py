from odoo.tests import TransactionCase, tagged

from ..sepa.reasons import CATALOGUE


@tagged("post_install", "-at_install")
class TestStornoReasons(TransactionCase):
    def test_catalogue_shipped(self):
        """Every code of the catalogue is a record with its defaults."""
        reasons = {r.code: r for r in self.env["sepa.return.reason"].search([])}
        for code, entry in CATALOGUE.items():
            reason = reasons[code]
            self.assertEqual(reason.name, entry.label)
            self.assertEqual(reason.revoke_at_once, entry.revoke_mandate, code)
            self.assertEqual(reason.points, entry.points or 0, code)
            self.assertEqual(reason.retry_makes_sense, entry.retry_makes_sense, code)
            self.assertEqual(reason.keeps_first, entry.keeps_first, code)

    def test_unknown_code_created(self):
        reasons = self.env["sepa.return.reason"]._get_or_create(["AM04", "ZZ99"])
        self.assertEqual(reasons["AM04"], self.env.ref("sepa_direct_debit.return_reason_am04"))
        unknown = reasons["ZZ99"]
        self.assertFalse(unknown.known)
        self.assertEqual(unknown.points, 1)
        self.assertEqual(self.env["sepa.return.reason"]._get_or_create(["zz99"])["ZZ99"],
                         unknown)

    def test_company_points(self):
        """Points per company: the default, or the company's own; revoke-at-once codes
        count the threshold."""
        am04 = self.env.ref("sepa_direct_debit.return_reason_am04")
        ac04 = self.env.ref("sepa_direct_debit.return_reason_ac04")
        company = self.env.company
        other = self.env["res.company"].create({"name": "Other Co"})
        company.sepa_storno_threshold = 4
        self.assertEqual((am04 | ac04)._score_points(company), {am04.id: 1, ac04.id: 4})
        am04.with_company(company).company_points = 2
        self.assertEqual(am04.with_company(company).company_points, 2)
        self.assertEqual(am04._score_points(company), {am04.id: 2})
        self.assertEqual(am04._score_points(other), {am04.id: 1})
