import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..sepa.reasons import CATALOGUE


def load_migration(version, name):
    path = Path(__file__).parent.parent / "migrations" / version / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"sepa_migration_{name}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


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
            self.assertEqual(reason.fault, entry.fault, code)

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

    def test_update_fills_whose_failure(self):
        """18.0.1.3.0: an updated database gets each code's fault (the data file is not
        applied to existing reasons); a code first met as unknown becomes the shipped
        one."""
        Reason = self.env["sepa.return.reason"]
        cr = self.env.cr
        du01 = self.env.ref("sepa_direct_debit.return_reason_du01")
        # as before the update: every code the debtor's (the new column's default),
        # MD02 with its old point, DU01 created as unknown from a file, without XML id
        cr.execute("UPDATE sepa_return_reason SET fault = 'debtor'")
        cr.execute("UPDATE sepa_return_reason SET points = 1 WHERE code = 'MD02'")
        self.env["ir.model.data"].search([
            ("module", "=", "sepa_direct_debit"), ("name", "=", "return_reason_du01")]).unlink()
        du01.write({"name": "Unknown reason DU01, to complete", "known": False, "points": 1,
                    "keeps_first": True, "category": "other"})
        proprietary = Reason._get_or_create(["XB42"])["XB42"]
        Reason.invalidate_model()
        pre = load_migration("18.0.1.3.0", "pre-migrate")
        post = load_migration("18.0.1.3.0", "post-migrate")
        pre.migrate(cr, None)  # a new installation: nothing to do
        post.migrate(cr, None)
        self.assertEqual(du01.fault, "debtor")
        pre.migrate(cr, "18.0.1.2.0")
        post.migrate(cr, "18.0.1.2.0")
        Reason.invalidate_model()
        self.assertEqual(self.env.ref("sepa_direct_debit.return_reason_du01"), du01)
        self.assertRecordValues(du01, [{
            "fault": "creditor", "known": True, "points": 0, "keeps_first": False,
            "category": "technical", "name": CATALOGUE["DU01"].label}])
        md02 = self.env.ref("sepa_direct_debit.return_reason_md02")
        self.assertRecordValues(md02, [{"fault": "creditor", "points": 0}])
        self.assertEqual(self.env.ref("sepa_direct_debit.return_reason_am04").fault, "debtor")
        self.assertEqual(self.env.ref("sepa_direct_debit.return_reason_cnor").fault, "bank")
        self.assertRecordValues(proprietary, [{"fault": "debtor", "points": 1}])
