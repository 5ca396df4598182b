"""Failed debits of two companies: the control after reconciliation and the storno
analysis of company B are refused to a user working in company A, on a real database
with real users (tests/security_common.py)."""

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .security_common import SepaTwoCompaniesCommon


@tagged("post_install", "-at_install")
class TestStornoCompanies(SepaTwoCompaniesCommon):
    """Company A and company B each have a sent batch with one failed debit (a return)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stornos = {}
        for company, batch in ((cls.company_a, cls.batch_a), (cls.company_b, cls.batch_b)):
            env = cls.env(context=dict(cls.env.context, allowed_company_ids=company.ids))
            batch.with_env(env).action_send()
            cls.stornos[company] = env["sepa.storno"].register([{
                "batch_line_id": batch.line_ids.id, "reason_code": "AM04", "kind": "return",
                "date": fields.Date.today(), "source": "manual"}])
        cls.storno_a, cls.storno_b = cls.stornos[cls.company_a], cls.stornos[cls.company_b]
        cls.secrets_b.append(cls.storno_b.name)

    def env_ab(self, role="multi"):
        """The user's environment with companies A and B active."""
        return self.env(user=self.users[role], context={
            "allowed_company_ids": [self.company_a.id, self.company_b.id]})

    def state(self):
        """What a control changes: the stornos' release, the mandates' sequence type
        override, the invoices' hold, the batches' messages and the control lines."""
        self.env.flush_all()
        return self.env.execute_query(SQL("""
            SELECT (SELECT array_agg((id, release_state, hold_note) ORDER BY id)
                      FROM sepa_storno),
                   (SELECT array_agg((id, sequence_type_override) ORDER BY id)
                      FROM sepa_mandate),
                   (SELECT array_agg(id ORDER BY id) FROM account_move WHERE sepa_hold),
                   (SELECT count(*) FROM mail_message WHERE model = 'sepa.batch'),
                   (SELECT array_agg(storno_id ORDER BY id) FROM sepa_control_line)"""))

    def assertRefused(self, call, exception=AccessError):
        """``call`` is refused with ``exception``, names nothing of company B and leaves
        the database as it was; returns the error's message."""
        before = self.state()
        with self.assertRaises(exception) as caught, self.env.cr.savepoint():
            call()
        self.env.invalidate_all()
        self.assertNoSecretOfB(str(caught.exception))
        self.assertEqual(self.state(), before)
        return str(caught.exception)

    # ------------------------------------------------------------------
    # control after reconciliation
    # ------------------------------------------------------------------

    def test_own_company_control(self):
        """The same user controls company A's failed debit: the reference for the
        refusals below."""
        Control = self.env_of("billing")["sepa.control"]
        batch = self.env_of("billing")["sepa.batch"].browse(self.batch_a.id)
        control = Control.browse(batch.action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id.ids, self.storno_a.ids)
        control.action_process()
        self.assertEqual(self.storno_a.release_state, "retry")
        # the menu's control (no batch): company A's failed debits only
        menu = Control._action_open()
        self.assertFalse(Control.browse(menu["res_id"]).line_ids)

    def test_user_of_a_cannot_open_the_control_of_b(self):
        env = self.env_of("billing")
        batch_b = env["sepa.batch"].browse(self.batch_b.id)
        self.assertRefused(batch_b.action_open_control)
        self.assertRefused(lambda: env["sepa.control"]._action_open(batch_b))
        # over RPC: a control of company B, filled by the wizard
        self.assertRefused(lambda: env["sepa.control"].create(
            {"company_id": self.company_b.id})._create_lines())

    def test_user_of_a_cannot_make_lines_of_stornos_of_b(self):
        """Over RPC a user can write any storno id in a control line: refused, for a
        control of company A as of company B (the line would show the debit's reason,
        mandate state and storno score)."""
        Control = self.env_of("billing")["sepa.control"]
        for company in (self.company_a, self.company_b):
            self.assertRefused(lambda c=company: Control.create({
                "company_id": c.id,
                "line_ids": [Command.create({"storno_id": self.storno_b.id,
                                             "release": "hold", "hold_note": "RPC"})],
            }))
        control = Control.browse(Control._action_open()["res_id"])
        self.assertRefused(lambda: control.write({"line_ids": [Command.create(
            {"storno_id": self.storno_b.id, "release": "hold", "hold_note": "RPC"})]}))
        self.assertRefused(lambda: control.line_ids.create(
            {"control_id": control.id, "storno_id": self.storno_b.id, "release": "hold"}))

    def test_user_of_a_cannot_process_the_control_of_b(self):
        """A control of company B made by a user of B, processed by a user of A (over
        RPC: transient records are not per user): refused, nothing changed."""
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        control = env_b["sepa.control"].browse(
            env_b["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id, self.storno_b)
        self.assertRefused(control.with_env(self.env_of("billing")).action_process)
        self.assertFalse(control.processed)
        self.assertEqual(self.storno_b.release_state, "none")

    def test_user_of_a_and_b_with_only_a_active(self):
        """A user allowed in both companies opens the control of B's batch with A and B
        active, then works in company A only: processing B's control says to switch
        company and changes nothing; with B active again it is processed."""
        env_ab = self.env_ab()
        control = env_ab["sepa.control"].browse(
            env_ab["sepa.batch"].browse(self.batch_b.id).action_open_control()["res_id"])
        self.assertEqual(control.line_ids.storno_id, self.storno_b)
        env_a = self.env_of("multi")
        message = self.assertRefused(control.with_env(env_a).action_process, UserError)
        self.assertIn("Stichting Bedrijf B", message)
        self.assertIn("Nothing was processed", message)
        self.assertFalse(control.processed)
        # opening it from batch B with company A active only: Odoo's own error, which
        # names the company to switch to (the user is allowed in it)
        message = self.assertRefused(
            env_a["sepa.batch"].browse(self.batch_b.id).action_open_control)
        self.assertIn("switching to the company: Stichting Bedrijf B", message)
        message = self.assertRefused(lambda: env_a["sepa.control"].create(
            {"company_id": self.company_b.id})._create_lines(), UserError)
        self.assertIn("Stichting Bedrijf B", message)
        control.action_process()
        self.assertEqual(self.storno_b.release_state, "retry")
        self.assertEqual(self.storno_a.release_state, "none")

    # ------------------------------------------------------------------
    # storno analysis
    # ------------------------------------------------------------------

    def test_storno_analysis_of_own_company_only(self):
        """The pivot's totals of a user of A (and of a user of A and B with A active)
        count company A's debits and stornos only; B's rows are neither found nor read."""
        Report = self.env["sepa.storno.report"]
        rows_b = Report.search([("company_id", "=", self.company_b.id)])
        self.assertEqual(len(rows_b), 1)
        self.assertEqual(rows_b.storno_id, self.storno_b)
        for role in ("billing", "multi", "manager"):
            Report = self.env_of(role)["sepa.storno.report"]
            totals = Report.read_group([], ["debit_count", "debit_amount", "storno_count",
                                            "storno_amount"], [])
            self.assertEqual(len(totals), 1)
            self.assertEqual(totals[0]["__count"], 1)
            self.assertEqual(totals[0]["debit_count"], 1)
            self.assertAlmostEqual(totals[0]["debit_amount"], 10.0)
            self.assertEqual(totals[0]["storno_count"], 1)
            self.assertAlmostEqual(totals[0]["storno_amount"], 10.0)
            self.assertEqual(Report.search([]).storno_id, self.storno_a)
            self.assertFalse(Report.search([("partner_id", "=", self.debtor_b.id)]))
            self.assertRefused(lambda r=Report: r.browse(rows_b.ids).read(["end_to_end_id"]))
        # with both companies active the user of A and B sees both
        self.assertEqual(self.env_ab()["sepa.storno.report"].search([]).storno_id,
                         self.storno_a | self.storno_b)
