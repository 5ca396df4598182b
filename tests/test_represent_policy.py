"""Failed debits re-presented after payday (issue 19, "Re-presentation after payday").

A debit that failed for insufficient funds (AM04, MS03: the reasons flagged *Re-present
Automatically*) is released by the company's policy when it is registered, with a
planned re-presentation date on or after the payday; the next proposal collects it on
that date. After the maximum number of re-presentations within the window, the failed
debit is held for the control. Other reasons (MD06, AC04) never are.
"""

import datetime

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from ..sepa.reasons import CATALOGUE
from .common import IBAN_C, IBAN_D
from .test_storno_control import ControlCommon

D = datetime.date


@tagged("post_install", "-at_install")
class TestRepresentPolicy(ControlCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sepa_represent_auto = True
        # members agreed to a 5-day notice (the failed debit e-mail gives it): the
        # re-presentation is on the payday (the default 14 days: test below)
        cls.company.sepa_notice_days = 5

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------

    def collect(self, invoice=None, **values):
        """Propose, create and send a batch today; the line of ``invoice`` in it."""
        invoice = invoice or self.inv_recurring
        batch = self.create_batch(**values)
        batch.action_generate()
        batch.action_send()
        return self.line_of(batch, invoice)

    def fail(self, line, code="AM04", kind="reject"):
        """The debit of ``line`` fails today with ``code``: its storno."""
        return self.register(line, code=code, kind=kind, date=fields.Date.today())

    def proposal_line(self, invoice=None, **values):
        invoice = invoice or self.inv_recurring
        wizard = self.propose(**values)
        return (wizard.line_ids | wizard.excluded_line_ids).filtered(
            lambda line: line.invoice_id == invoice)

    # ------------------------------------------------------------------
    # settings and catalogue
    # ------------------------------------------------------------------

    def test_company_defaults(self):
        company = self.env["res.company"].create({"name": "Nieuwe Vereniging"})
        self.assertRecordValues(company, [{
            "sepa_represent_auto": False, "sepa_represent_payday": 25,
            "sepa_represent_max": 2, "sepa_represent_window": 42}])
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.sepa_represent_auto)
        self.assertEqual(settings.sepa_represent_payday, 25)

    def test_bad_settings_refused(self):
        from odoo.exceptions import ValidationError
        for values in ({"sepa_represent_payday": 0}, {"sepa_represent_payday": 32},
                       {"sepa_represent_max": 0}, {"sepa_represent_window": 0}):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.company.write(values)

    def test_catalogue_flags_am04_and_ms03(self):
        reasons = {reason.code: reason for reason in self.env["sepa.return.reason"].search([])}
        flagged = {code for code, reason in reasons.items() if reason.represent_automatically}
        self.assertEqual(flagged, {"AM04", "MS03"})
        self.assertEqual(flagged, {code for code, entry in CATALOGUE.items()
                                   if entry.represent_automatically})
        unknown = self.env["sepa.return.reason"]._get_or_create(["ZZ42"])["ZZ42"]
        self.assertFalse(unknown.represent_automatically)

    def test_existing_database_gets_the_flags(self):
        """An existing database (the column does not exist yet) gets the catalogue's
        flags when the addon is updated: the column is made and computed."""
        cr = self.env.cr
        cr.execute("ALTER TABLE sepa_return_reason DROP COLUMN represent_automatically")
        self.env.invalidate_all()
        self.env.registry.init_models(
            cr, ["sepa.return.reason"], {"module": "sepa_direct_debit"})
        self.env.flush_all()
        cr.execute("SELECT code FROM sepa_return_reason WHERE represent_automatically")
        self.assertEqual({row[0] for row in cr.fetchall()}, {"AM04", "MS03"})

    # ------------------------------------------------------------------
    # the two-month scenario
    # ------------------------------------------------------------------

    def test_representation_leaves_the_notice_period(self):
        """The failed debit e-mail is the notice of the re-presentation: with the
        rulebook's 14 days, a debit failing 5 days before payday is re-presented 14
        days after the e-mail; a customer's agreed shorter period wins."""
        self.company.sepa_notice_days = 14
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
            self.assertEqual(storno.represent_date, D(2027, 10, 4))  # a Monday
        self.recurring_partner.sepa_notice_days = 3
        with freeze_time("2027-09-20"):
            line = self.proposal_line()
            storno = self.fail(self.collect())
            self.assertTrue(line)
            self.assertEqual(storno.represent_date, D(2027, 9, 27))

    def test_two_months_fail_represent_fail_represent_fail_held(self):
        with freeze_time("2027-09-20"):
            storno_1 = self.fail(self.collect())
            # 25 September 2027 is a Saturday: the first collection date after it
            self.assertRecordValues(storno_1, [{
                "release_state": "retry", "represent_date": D(2027, 9, 27),
                "released_by_policy": True, "hold_note": False}])
            self.assertEqual(self.inv_recurring.sepa_state, "to_collect")

        with freeze_time("2027-09-21"):
            # the next proposal collects it on the planned date, not earlier
            line = self.proposal_line()
            self.assertRecordValues(line, [{
                "reason": False, "selected": True, "collection_date": D(2027, 9, 27)}])
            batch_line = self.collect()
            self.assertEqual(batch_line.collection_date, D(2027, 9, 27))

        with freeze_time("2027-09-29"):
            storno_2 = self.fail(batch_line)
            # re-presented once in 42 days: again, after October's payday (a Monday)
            self.assertRecordValues(storno_2, [{
                "release_state": "retry", "represent_date": D(2027, 10, 25),
                "released_by_policy": True}])

        with freeze_time("2027-10-04"):
            # a proposal up to a date before the planned one leaves it out, saying why
            line = self.proposal_line(instruction_date=D(2027, 10, 15))
            self.assertFalse(line.selected)
            self.assertEqual(line.reason, "Re-presentation planned on 10/25/2027")
            line = self.proposal_line()
            self.assertEqual(line.collection_date, D(2027, 10, 25))
            batch_line = self.collect()
            self.assertEqual(batch_line.collection_date, D(2027, 10, 25))

        with freeze_time("2027-10-27"):
            storno_3 = self.fail(batch_line)
            # re-presented twice within 42 days: the maximum, held for the control
            self.assertRecordValues(storno_3, [{
                "release_state": "hold", "represent_date": False,
                "released_by_policy": True,
                "hold_note": "Re-presented 2 times within 42 days, the maximum"}])
            self.assertEqual(self.inv_recurring.sepa_state, "on_hold")
            line = self.proposal_line()
            self.assertFalse(line.selected)
            self.assertIn("Re-presented 2 times within 42 days, the maximum", line.reason)
            # the control shows it, held, for the bookkeeper
            control_line = self.control_line(self.open_control(), self.inv_recurring)
            self.assertRecordValues(control_line, [{
                "storno_id": storno_3.id, "release": "hold", "represent_date": False,
                "hold_note": "Re-presented 2 times within 42 days, the maximum"}])

    def test_christmas_payday(self):
        """25 and 26 December are TARGET2 holidays and the 27th a Sunday."""
        with freeze_time("2026-12-10"):
            storno = self.fail(self.collect())
        self.assertEqual(storno.represent_date, D(2026, 12, 28))
        with freeze_time("2026-12-28"):
            # failed after payday: next month's
            storno = self.fail(self.collect(invoice=self.invoice(self.recurring_partner, 5.0)),
                               code="MS03")
        self.assertEqual(storno.represent_date, D(2027, 1, 25))

    def test_return_from_a_bank_statement_line(self):
        """A return booked by the bank (statement line) is re-presented as well: the
        policy works where stornos are registered, whatever brought them."""
        with freeze_time("2027-09-06"):
            line = self.collect()
            self.statement(180.25, line.batch_id.name)  # the bank's credit: settled
            self.assertEqual(line.batch_id.state, "done")
        with freeze_time("2027-09-10"):
            st_line = self.env["account.bank.statement.line"].create({
                "journal_id": self.bank_journal.id, "date": fields.Date.today(),
                "amount": -30.0, "payment_ref": f"STORNO {line.end_to_end_id} REDEN AM04"})
        storno = self.Storno.search([("statement_line_id", "=", st_line.id)])
        self.assertRecordValues(storno, [{
            "source": "statement", "kind": "return", "reason_code": "AM04",
            "release_state": "retry", "represent_date": D(2027, 9, 27),
            "released_by_policy": True}])

    # ------------------------------------------------------------------
    # only insufficient funds, only with the policy on, within the window
    # ------------------------------------------------------------------

    def test_refund_and_closed_account_never_represented(self):
        with freeze_time("2027-09-20"):
            batch = self.collect().batch_id
            stornos = self.Storno.register([{
                "batch_line_id": self.line_of(batch, invoice).id, "reason_code": code,
                "kind": kind, "date": fields.Date.today(), "source": "manual",
            } for invoice, code, kind in [(self.inv_recurring, "MD06", "refund"),
                                          (self.inv_first_1, "AC04", "return")]])
        self.assertRecordValues(stornos.sorted("reason_code"), [
            {"reason_code": "AC04", "release_state": "none", "represent_date": False,
             "released_by_policy": False},
            {"reason_code": "MD06", "release_state": "none", "represent_date": False,
             "released_by_policy": False},
        ])
        # the control decides about them as before: no planned date
        control = self.open_control()
        self.assertEqual(set(control.line_ids.mapped("represent_date")), {False})

    def test_policy_off_nothing_automatic(self):
        self.company.sepa_represent_auto = False
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
        self.assertRecordValues(storno, [{
            "release_state": "none", "represent_date": False, "released_by_policy": False}])
        self.assertEqual(self.inv_recurring.sepa_state, "failed")

    def test_inactive_mandate_left_to_the_control(self):
        """A mandate revoked by its score is not collected again: the control decides."""
        self.company.write({"sepa_storno_auto_revoke": True, "sepa_storno_threshold": 1})
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
        self.assertEqual(self.mandate_recurring.state, "revoked")
        self.assertRecordValues(storno, [{"release_state": "none", "represent_date": False}])

    def _fail_in_july_and_september(self):
        with freeze_time("2027-07-01"):
            self.fail(self.collect())
        with freeze_time("2027-07-02"):
            line = self.collect()
        with freeze_time("2027-09-20"):
            return self.fail(line)

    def test_window_older_failures_do_not_count(self):
        self.company.sepa_represent_max = 1
        storno = self._fail_in_july_and_september()
        # the July failure is more than 42 days before: none counts
        self.assertRecordValues(storno, [{
            "release_state": "retry", "represent_date": D(2027, 9, 27)}])

    def test_window_wider_counts_them(self):
        self.company.write({"sepa_represent_max": 1, "sepa_represent_window": 90})
        storno = self._fail_in_july_and_september()
        self.assertRecordValues(storno, [{
            "release_state": "hold", "represent_date": False,
            "hold_note": "Re-presented 1 times within 90 days, the maximum"}])

    def test_cancelled_failure_does_not_count(self):
        self.company.sepa_represent_max = 1
        with freeze_time("2027-09-20"):
            line = self.collect()
            self.fail(line).action_cancel()
            # registered by mistake and cancelled: the debit fails for real now
            storno = self.fail(line)
        self.assertRecordValues(storno, [{
            "release_state": "retry", "represent_date": D(2027, 9, 27)}])

    # ------------------------------------------------------------------
    # the control shows the plan; the bookkeeper overrides
    # ------------------------------------------------------------------

    def test_control_shows_planned_representation_and_keeps_it(self):
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
            control = self.open_control()
            line = self.control_line(control, self.inv_recurring)
            self.assertRecordValues(line, [{
                "storno_id": storno.id, "release": "retry",
                "represent_date": D(2027, 9, 27)}])
            control.action_process()
        self.assertRecordValues(storno, [{
            "release_state": "retry", "represent_date": D(2027, 9, 27),
            "released_by_policy": False}])
        # confirmed: not shown again
        self.assertFalse(self.control_line(self.open_control(), self.inv_recurring))

    def test_batch_button_counts_the_policys_decisions(self):
        """A batch whose failed debits the policy decided still offers the control: its
        button counts them until they are confirmed or collected again."""
        with freeze_time("2027-09-20"):
            line = self.collect()
            batch = line.batch_id
            self.fail(line)
            self.assertEqual(batch.storno_release_count, 0)  # none undecided
            self.assertEqual(batch.storno_control_count, 1)
            self.assertEqual(self.env["sepa.batch"].search(
                [("storno_control_count", ">", 0)]), batch)
            self.open_control().action_process()
            batch.invalidate_recordset(["storno_control_count"])
            self.assertEqual(batch.storno_control_count, 0)
            self.assertFalse(self.env["sepa.batch"].search(
                [("storno_control_count", ">", 0), ("id", "=", batch.id)]))

    def test_control_override_hold(self):
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
            control = self.open_control()
            line = self.control_line(control, self.inv_recurring)
            line.write({"release": "hold", "hold_note": "Customer pays by transfer"})
            control.action_process()
            self.assertRecordValues(storno, [{
                "release_state": "hold", "represent_date": False,
                "released_by_policy": False, "hold_note": "Customer pays by transfer"}])
            self.assertFalse(self.proposal_line().selected)

    def test_control_override_retry_after_maximum(self):
        self.company.sepa_represent_max = 1
        storno = self._fail_in_july_and_september()
        self.company.sepa_represent_window = 120
        with freeze_time("2027-09-21"):
            held = self.fail(self.collect())
            self.assertEqual(held.release_state, "hold")
            control = self.open_control()
            line = self.control_line(control, self.inv_recurring)
            self.assertEqual(line.storno_id, held)
            line.release = "retry"
            control.action_process()
            self.assertRecordValues(held, [{
                "release_state": "retry", "represent_date": False,
                "released_by_policy": False}])
            # collected by the next proposal, at the earliest date
            self.assertTrue(self.proposal_line().selected)
        self.assertEqual(storno.release_state, "retry")

    def test_hold_by_hand_drops_the_plan(self):
        with freeze_time("2027-09-20"):
            storno = self.fail(self.collect())
            storno.action_hold("Asked to pay by transfer")
        self.assertRecordValues(storno, [{
            "release_state": "hold", "represent_date": False, "released_by_policy": False}])

    def test_represented_debit_leaves_the_control(self):
        """Once the invoice is in a new batch, the control no longer offers it."""
        with freeze_time("2027-09-20"):
            self.fail(self.collect())
        with freeze_time("2027-09-21"):
            self.collect()
            self.assertFalse(self.control_line(self.open_control(), self.inv_recurring))

    # ------------------------------------------------------------------
    # set-wise
    # ------------------------------------------------------------------

    def test_setwise_one_registration(self):
        partners = [self.create_debtor(f"Lid {n}", iban)[0]
                    for n, iban in enumerate([IBAN_C, IBAN_D])]
        invoices = self.inv_recurring | self.invoice(partners[0], 11.0) \
            | self.invoice(partners[1], 12.0)
        self.company.sepa_represent_auto = False
        with freeze_time("2027-09-20"):
            batch = self.collect().batch_id
            stornos = self.Storno.register([{
                "batch_line_id": self.line_of(batch, invoice).id, "reason_code": "AM04",
                "kind": "reject", "date": fields.Date.today(), "source": "manual",
            } for invoice in invoices])
            self.company.sepa_represent_auto = True
            self.env.flush_all()
            counts = []
            for part in (stornos[:1], stornos[1:]):
                self.env.invalidate_all()
                before = self.env.cr.sql_log_count
                part._represent_after_payday()
                self.env.flush_all()
                counts.append(self.env.cr.sql_log_count - before)
        self.assertLessEqual(counts[1], counts[0], "queries do not grow with the stornos")
        self.assertEqual(set(stornos.mapped("represent_date")), {D(2027, 9, 27)})
        self.assertEqual(set(stornos.mapped("release_state")), {"retry"})
