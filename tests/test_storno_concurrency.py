from contextlib import closing

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

#: No chatter message, follower or tracking for the committed set-up: the clean-up
#: deletes what the set-up made, by id.
QUIET = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True,
         "mail_create_nosubscribe": True}


@tagged("post_install", "-at_install")
class TestControlConcurrency(TransactionCase):
    """Two users process a control after reconciliation of the same failed debit at the
    same moment, on two real database connections: the second is told at once, and
    nothing of its control is applied."""

    def setUp(self):
        super().setUp()
        self.connection = db_connect(self.env.cr.dbname)
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, QUIET)
            self.ids = self._make_failed_first_debit(env)
            cr.commit()
        self.addCleanup(self._cleanup)

    @staticmethod
    def _make_failed_first_debit(env):
        """A batch line with the first debit (FRST) of an active recurring mandate,
        rejected (a registered storno), and two controls of the batch opened by two
        users, both with its line."""
        partner = env["res.partner"].create({"name": "Concurrent Control Debtor"})
        bank = env["res.partner.bank"].create(
            {"acc_number": "NL44RABO0123456789", "partner_id": partner.id})
        mandate = env["sepa.mandate"].create({
            "partner_id": partner.id, "partner_bank_id": bank.id,
            "signature_date": "2025-01-15", "mandate_type": "recurring"})
        mandate.action_activate()
        invoice = env["account.move"].create({"move_type": "out_invoice",
                                              "partner_id": partner.id})
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1)
        batch = env["sepa.batch"].create({"journal_id": journal.id})
        line = env["sepa.batch.line"].create({
            "batch_id": batch.id, "invoice_id": invoice.id, "partner_id": partner.id,
            "mandate_id": mandate.id, "amount": 25.0, "sequence_type": "FRST",
            "collection_date": "2030-01-02", "debit_number": 1,
            "end_to_end_id": f"CONTROL-CONCURRENT-{batch.id}"})
        storno = env["sepa.storno"].create({
            "name": f"{line.end_to_end_id} AM04", "batch_line_id": line.id,
            "invoice_ids": [(6, 0, invoice.ids)], "mandate_id": mandate.id,
            "partner_id": partner.id, "end_to_end_id": line.end_to_end_id,
            "amount": 25.0, "kind": "reject",
            "reason_id": env.ref("sepa_direct_debit.return_reason_am04").id})
        controls = [env["sepa.control"]._action_open(batch)["res_id"] for _user in (1, 2)]
        return {"partner": partner.id, "bank": bank.id, "mandate": mandate.id,
                "invoice": invoice.id, "batch": batch.id, "line": line.id,
                "storno": storno.id, "controls": controls}

    def _cleanup(self):
        ids = self.ids
        with closing(self.connection.cursor()) as cr:
            cr.execute("DELETE FROM sepa_control WHERE id IN %s", [tuple(ids["controls"])])
            cr.execute("DELETE FROM sepa_storno WHERE id = %s", [ids["storno"]])
            cr.execute("DELETE FROM sepa_batch_line WHERE id = %s", [ids["line"]])
            cr.execute("DELETE FROM sepa_batch WHERE id = %s", [ids["batch"]])
            cr.execute("DELETE FROM account_move WHERE id = %s", [ids["invoice"]])
            cr.execute("DELETE FROM sepa_mandate WHERE id = %s", [ids["mandate"]])
            cr.execute("DELETE FROM res_partner_bank WHERE id = %s", [ids["bank"]])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [ids["partner"]])
            cr.execute("""DELETE FROM mail_message
                           WHERE (model = 'sepa.batch' AND res_id = %s)
                              OR (model = 'sepa.storno' AND res_id = %s)
                              OR (model = 'sepa.mandate' AND res_id = %s)""",
                       [ids["batch"], ids["storno"], ids["mandate"]])
            cr.commit()

    def _state(self, env):
        """What processing the control changes, read in ``env``'s transaction."""
        return env.execute_query_dict(SQL(
            """SELECT s.release_state, s.hold_note, md.sequence_type_override,
                      (SELECT count(*) FROM mail_message
                        WHERE model = 'sepa.batch' AND res_id = s.batch_id) AS messages,
                      (SELECT array_agg(COALESCE(processed, FALSE) ORDER BY id) FROM sepa_control
                        WHERE id = ANY(%s)) AS processed
                 FROM sepa_storno s JOIN sepa_mandate md ON md.id = s.mandate_id
                WHERE s.id = %s""", self.ids["controls"], self.ids["storno"]))[0]

    def test_second_control_refused_while_first_is_processed(self):
        """The first user's Process holds the failed debit until its transaction ends;
        the second user's Process meanwhile is refused at once with a clear error and
        applies nothing; once the first committed, the second is told the failed debit
        was released meanwhile."""
        first_id, second_id = self.ids["controls"]
        with closing(self.connection.cursor()) as cr1, \
                closing(self.connection.cursor()) as cr2:
            env1 = api.Environment(cr1, SUPERUSER_ID, {})
            env2 = api.Environment(cr2, SUPERUSER_ID, {})
            before = self._state(env2)
            self.assertEqual(before["release_state"], "none")
            self.assertEqual(before["processed"], [False, False])
            env1["sepa.control"].browse(first_id).action_process()  # not committed yet
            second = env2["sepa.control"].browse(second_id)
            self.assertEqual(second.line_ids.storno_id.id, self.ids["storno"])
            with self.assertRaisesRegex(UserError, "Another user is releasing these failed "
                                        "debits at this moment; nothing was processed"):
                second.action_process()
            env2.invalidate_all()
            self.assertEqual(self._state(env2), before)
            cr2.rollback()  # the end of the second user's request
            cr1.commit()
            env2.invalidate_all()
            with self.assertRaisesRegex(UserError, "released or cancelled by another user"):
                second.action_process()
            env2.invalidate_all()
            after = self._state(env2)
            self.assertEqual(after["release_state"], "retry")
            self.assertEqual(after["sequence_type_override"], "first")
            self.assertEqual(after["messages"], before["messages"] + 1)
            self.assertEqual(after["processed"], [True, False])
            cr2.rollback()

    def test_control_refused_while_another_transaction_holds_the_debit(self):
        """Another transaction holds the failed debit (e.g. a user releasing it by hand
        on its form): Process is refused at once and changes nothing; once that
        transaction ended without change, the same control is processed."""
        with closing(self.connection.cursor()) as cr1, \
                closing(self.connection.cursor()) as cr2:
            cr1.execute("SELECT id FROM sepa_storno WHERE id = %s FOR UPDATE",
                        [self.ids["storno"]])
            env2 = api.Environment(cr2, SUPERUSER_ID, {})
            before = self._state(env2)
            control = env2["sepa.control"].browse(self.ids["controls"][0])
            with self.assertRaisesRegex(UserError, "Another user is releasing these failed "
                                        "debits at this moment; nothing was processed"):
                control.action_process()
            env2.invalidate_all()
            self.assertEqual(self._state(env2), before)
            cr2.rollback()  # the end of the user's request
            cr1.rollback()
            env2.invalidate_all()
            control.action_process()
            env2.invalidate_all()
            after = self._state(env2)
            self.assertEqual((after["release_state"], after["sequence_type_override"],
                              after["processed"]), ("retry", "first", [True, False]))
            cr2.rollback()
