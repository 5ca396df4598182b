"""Control after reconciliation: release failed debits (retry / hold / out of direct
debit) and choose the sequence type after a failed first debit, on a real database."""

from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..models.sepa_storno import SepaStorno
from ..wizards.sepa_control import SepaControl
from .common import IBAN_C, IBAN_D
from .test_storno_accounting import StornoCommon


class ControlCommon(StornoCommon):
    """The cycle invoices and the control after reconciliation of their batches."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Control = cls.env["sepa.control"]
        cls.make_cycle_invoices()

    def open_control(self, batches=None):
        action = self.Control._action_open(batches)
        return self.Control.browse(action["res_id"])

    def control_line(self, control, invoice):
        return control.line_ids.filtered(lambda line: invoice in line.invoice_ids)


@tagged("post_install", "-at_install")
class TestStornoControl(ControlCommon):

    def register_all(self, batch, failed):
        """Register the failed debits ``[(invoice, reason code, kind)]`` of ``batch``
        at once, as an imported return file does."""
        return self.Storno.register([{
            "batch_line_id": self.line_of(batch, invoice).id, "reason_code": code,
            "kind": kind, "date": fields.Date.today(), "source": "manual"}
            for invoice, code, kind in failed])

    def first_debtor(self, name, iban, amount):
        """A customer with a new mandate (its first debit is FRST) and an open invoice."""
        partner, mandate = self.create_debtor(name, iban)
        return partner, mandate, self.invoice(partner, amount)

    # ------------------------------------------------------------------
    # lines and their pre-fill
    # ------------------------------------------------------------------

    def test_prefill_per_kind(self):
        """First debits rejected before settlement stay First, returned / refunded /
        reversed ones become Recurring; a duplicate reject too. A recurring debit has no
        sequence choice."""
        debtors = {}
        for number, (kind, code) in enumerate([("return", "MS03"), ("refund", "MD06"),
                                               ("reversal", "MS02"), ("reject", "AM05")]):
            iban = [IBAN_C, IBAN_D, "NL02ABNA0123456789", "NL39RABO0300065264"][number]
            debtors[kind, code] = self.first_debtor(f"Debtor {kind}", iban, 10.0 + number)
        batch = self.send_batch()
        failed = [(self.inv_first_1, "AM04", "reject"), (self.inv_recurring, "AM04", "return")]
        failed += [(invoice, code, kind)
                   for (kind, code), (_partner, _mandate, invoice) in debtors.items()]
        self.register_all(batch, failed)
        control = self.open_control(batch)
        self.assertEqual(len(control.line_ids), 6)
        # MS02 (refused by the debtor) cannot succeed again on the same account: Hold
        expected = [
            (self.inv_first_1, "reject", True, "first", "Rejected before settlement"),
            (self.inv_recurring, "return", False, False, False),
            (debtors["return", "MS03"][2], "return", True, "recurring", "after settlement"),
            (debtors["refund", "MD06"][2], "refund", True, "recurring", "after settlement"),
            (debtors["reversal", "MS02"][2], "reversal", True, "recurring", "after settlement"),
            (debtors["reject", "AM05"][2], "reject", True, "recurring", "as a duplicate"),
        ]
        for invoice, kind, first, sequence, note in expected:
            line = self.control_line(control, invoice)
            held = kind == "reversal"
            self.assertRecordValues(line, [{
                "kind": kind, "first_debit": first, "sequence_type": sequence,
                "release": "hold" if held else "retry",
                "hold_note": held and "Needs a new account or mandate (MS02)",
                "batch_id": batch.id,
                "partner_id": invoice.commercial_partner_id.id,
                "mandate_id": invoice.sepa_mandate_id.id,
                "amount": invoice.amount_total if invoice != self.inv_first_1 else 150.25}])
            if note:
                self.assertIn(note, line.sequence_note)
            else:
                self.assertFalse(line.sequence_note)
        # the user's choice against what happened is said
        line = self.control_line(control, self.inv_first_1)
        line.sequence_type = "recurring"
        self.assertIn("You chose otherwise", line.sequence_note)
        self.assertEqual(line.reason_code, "AM04")
        self.assertTrue(line.reason_name)
        self.assertEqual(line.storno_score, self.mandate_first.storno_score)

    def test_prefill_reject_of_a_settled_batch(self):
        """A reject registered once the batch was settled: for the bank the first debit
        took place (Recurring), as the derived sequence type says."""
        batch = self.send_batch()
        batch._settle()
        self.register(self.line_of(batch, self.inv_first_1), kind="reject")
        line = self.open_control(batch).line_ids.filtered("first_debit")
        self.assertRecordValues(line, [{"kind": "reject", "after_settlement": True,
                                        "sequence_type": "recurring"}])
        self.assertIn("Failed after settlement", line.sequence_note)

    def test_merged_first_debit_is_one_line_released_together(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_first_2), code="AM04", kind="reject")
        control = self.open_control(batch)
        self.assertEqual(len(control.line_ids), 1)
        line = control.line_ids
        self.assertEqual(line.invoice_ids, self.inv_first_1 | self.inv_first_2)
        self.assertRecordValues(line, [{"amount": 150.25, "first_debit": True,
                                        "sequence_type": "first",
                                        "mandate_id": self.mandate_first.id}])
        control.action_process()
        self.assertEqual(line.storno_id.release_state, "retry")
        self.assertEqual(self.mandate_first.sequence_type_override, "first")
        self.assertEqual(set((self.inv_first_1 | self.inv_first_2).mapped("sepa_state")),
                         {"to_collect"})
        wizard = self.propose()
        proposed = wizard.line_ids.filtered(
            lambda pline: pline.invoice_id in (self.inv_first_1 | self.inv_first_2))
        self.assertEqual(len(proposed), 2)
        self.assertEqual(set(proposed.mapped("sequence_type")), {"FRST"})
        self.assertTrue(all(proposed.mapped("selected")))

    def test_sequence_choice_used_by_next_proposal(self):
        """The user overrides the pre-filled First of a rejected first debit: the next
        proposal collects the mandate's invoices as Recurring."""
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_first_1), kind="reject")
        control = self.open_control(batch)
        control.line_ids.sequence_type = "recurring"
        control.action_process()
        self.assertEqual(self.mandate_first.sequence_type_override, "recurring")
        proposed = self.propose().line_ids.filtered(
            lambda pline: pline.mandate_id == self.mandate_first)
        self.assertEqual(proposed.invoice_id, self.inv_first_1 | self.inv_first_2)
        self.assertEqual(set(proposed.mapped("sequence_type")), {"RCUR"})

    def test_only_unreleased_failed_debits_of_the_batch(self):
        batch = self.send_batch()
        first = self.register(self.line_of(batch, self.inv_first_1), kind="reject")
        self.register(self.line_of(batch, self.inv_recurring), kind="reject")
        self.assertEqual(batch.storno_release_count, 2)
        self.assertIn(batch, self.env["sepa.batch"].search(
            [("storno_release_count", ">", 0)]))
        first.action_hold("Disputed")
        batch.invalidate_recordset(["storno_release_count"])
        self.assertEqual(batch.storno_release_count, 1)
        control = self.open_control(batch)
        self.assertEqual(control.line_ids.invoice_ids, self.inv_recurring)
        # from the menu: every batch of the company
        action = self.env.ref("sepa_direct_debit.action_sepa_control").run()
        self.assertEqual(self.Control.browse(action["res_id"]).line_ids.invoice_ids,
                         self.inv_recurring)
        control.action_process()
        batch.invalidate_recordset(["storno_release_count"])
        self.assertEqual(batch.storno_release_count, 0)
        self.assertNotIn(batch, self.env["sepa.batch"].search(
            [("storno_release_count", ">", 0)]))
        self.assertIn(batch, self.env["sepa.batch"].search(
            [("storno_release_count", "=", 0)]))
        empty = self.open_control(batch)
        self.assertFalse(empty.line_ids)
        with self.assertRaisesRegex(UserError, "no failed debit to release"):
            empty.action_process()
        with self.assertRaisesRegex(UserError, "processed already"):
            control.action_process()

    # ------------------------------------------------------------------
    # revoked mandates
    # ------------------------------------------------------------------

    def test_revoked_mandate_cannot_be_retried(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), kind="return")
        self.mandate_recurring._revoke(fields.Date.today(), "Debtor revoked it")
        control = self.open_control(batch)
        line = control.line_ids
        self.assertRecordValues(line, [{"release": "hold", "mandate_state": "revoked"}])
        self.assertIn("Mandate revoked", line.hold_note)
        with self.assertRaisesRegex(ValidationError, r"(?s)cannot be retried.*"
                                    + self.inv_recurring.name + r".*MDT-RCUR"):
            line.release = "retry"

    def test_revoked_after_opening_refused_nothing_changed(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_first_1), kind="reject")
        self.register(self.line_of(batch, self.inv_recurring), kind="return")
        control = self.open_control(batch)
        self.assertEqual(control.line_ids.mapped("release"), ["retry", "retry"])
        self.mandate_recurring._revoke(fields.Date.today(), "Debtor revoked it")
        with self.assertRaisesRegex(UserError, r"(?s)Nothing was processed.*"
                                    + self.inv_recurring.name + r" \(mandate MDT-RCUR\): "
                                    r"cannot be retried"):
            control.action_process()
        self.assertEqual(set(control.line_ids.storno_id.mapped("release_state")), {"none"})
        self.assertFalse(self.mandate_first.sequence_type_override)
        self.assertFalse(control.processed)

    def test_take_out_of_direct_debit(self):
        batch = self.send_batch()
        storno = self.register(self.line_of(batch, self.inv_recurring), code="MD01",
                               kind="return")
        self.mandate_recurring._revoke(fields.Date.today(), "No mandate")
        control = self.open_control(batch)
        control.line_ids.write({"release": "out", "hold_note": "Pays by transfer"})
        control.action_process()
        self.assertRecordValues(storno, [{"release_state": "out",
                                          "hold_note": "Pays by transfer"}])
        self.assertRecordValues(self.inv_recurring, [{"sepa_hold": True,
                                                      "sepa_state": "on_hold"}])
        self.assertIn("paid another way", self.inv_recurring.sepa_hold_reason)
        line = (self.propose().excluded_line_ids).filtered(
            lambda pline: pline.invoice_id == self.inv_recurring)
        self.assertIn("paid another way", line.reason)
        self.assertEqual(self.Control.browse(self.Control._action_open(batch)["res_id"])
                         .line_ids, self.env["sepa.control.line"])
        # Release Direct Debit on the invoice puts it back: what keeps it out now is
        # its revoked mandate, for its status as for the proposal
        self.inv_recurring.action_sepa_release()
        self.assertEqual(self.inv_recurring.sepa_state, "mandate_revoked")
        line = (self.propose().excluded_line_ids).filtered(
            lambda pline: pline.invoice_id == self.inv_recurring)
        self.assertEqual(line.reason, "Mandate revoked")

    # ------------------------------------------------------------------
    # process: one transaction, grouped writes, one summary per batch
    # ------------------------------------------------------------------

    def several_failed(self):
        """A batch with five failed debits: the merged FRST debit and four recurring."""
        invoices = [self.inv_recurring]
        for number, iban in enumerate([IBAN_C, IBAN_D, "NL02ABNA0123456789"]):
            partner, _mandate = self.create_debtor(f"Recurring {number}", iban,
                                                   sequence_type="recurring")
            invoices.append(self.invoice(partner, 20.0 + number))
        batch = self.send_batch()
        self.register_all(batch, [(self.inv_first_1, "AM04", "reject")]
                          + [(invoice, "AM04", "return") for invoice in invoices])
        return batch, invoices

    def test_process_grouped_writes_and_one_summary(self):
        batch, invoices = self.several_failed()
        control = self.open_control(batch)
        self.assertEqual(len(control.line_ids), 5)
        self.control_line(control, invoices[1]).write({"release": "hold", "hold_note": "Dispute"})
        self.control_line(control, invoices[2]).write({"release": "hold", "hold_note": "Dispute"})
        self.control_line(control, invoices[3]).write({"release": "out"})
        self.assertRecordValues(control, [{"line_count": 5, "retry_count": 2,
                                           "hold_count": 2, "out_count": 1}])
        messages = batch.message_ids
        untouched = self.mandate_recurring.sequence_type_override  # not a first debit
        writes = []
        original = SepaStorno.write

        def counting_write(records, vals):
            if "release_state" in vals:
                writes.append((vals["release_state"], len(records)))
            return original(records, vals)

        with patch.object(SepaStorno, "write", counting_write):
            control.action_process()
        # one write per distinct (release, note), not one per line
        self.assertCountEqual(writes, [("retry", 2), ("hold", 2), ("out", 1)])
        self.assertEqual(
            [self.control_line(control, invoice).storno_id.release_state
             for invoice in (self.inv_first_1, *invoices)],
            ["retry", "retry", "hold", "hold", "out"])
        self.assertEqual(self.mandate_first.sequence_type_override, "first")
        self.assertEqual(self.mandate_recurring.sequence_type_override, untouched)
        new = batch.message_ids - messages
        self.assertEqual(len(new), 1)
        self.assertIn("5 failed debit(s) released: 2 to retry, 2 held, 1 taken out of "
                      "direct debit", new.body)
        self.assertIn("First on 1 mandate(s), Recurring on 0", new.body)
        # proposal: the retried invoices come, the held ones with their note do not
        wizard = self.propose()
        for invoice in (self.inv_first_1, self.inv_first_2, invoices[0]):
            self.assertIn(invoice, wizard.line_ids.invoice_id)
        excluded = {line.invoice_id: line.reason for line in wizard.excluded_line_ids}
        self.assertIn("Dispute", excluded[invoices[1]])
        # one wording for every hold: "On hold: <why>", a failed debit's date and code after
        self.assertRegex(excluded[invoices[2]],
                         r"^On hold: Dispute \(the debit failed on .+, AM04\)$")
        self.assertIn("paid another way", excluded[invoices[3]])
        self.assertTrue(excluded[invoices[3]].startswith("On hold: "))

    def test_process_error_leaves_nothing_half_done(self):
        batch, invoices = self.several_failed()
        control = self.open_control(batch)
        self.control_line(control, invoices[1]).write({"release": "hold", "hold_note": "Dispute"})
        self.control_line(control, invoices[3]).write({"release": "out"})
        messages = batch.message_ids
        # fails after the stornos, invoices and mandates were written
        with patch.object(SepaControl, "_post_summaries",
                          side_effect=UserError("The chatter is broken")), \
                self.assertRaisesRegex(UserError, "The chatter is broken"):
            control.action_process()
        stornos = control.line_ids.storno_id
        stornos.invalidate_recordset()
        self.assertEqual(set(stornos.mapped("release_state")), {"none"})
        self.assertFalse(any(stornos.mapped("hold_note")))
        self.assertFalse(self.mandate_first.sequence_type_override)
        self.assertFalse(invoices[3].sepa_hold)
        self.assertEqual(batch.message_ids, messages)
        self.assertFalse(control.processed)
        # and the same control can be processed afterwards
        control.action_process()
        self.assertEqual(set(stornos.mapped("release_state")), {"retry", "hold", "out"})

    def test_released_meanwhile_refused(self):
        batch = self.send_batch()
        storno = self.register(self.line_of(batch, self.inv_recurring), kind="return")
        self.register(self.line_of(batch, self.inv_first_1), kind="reject")
        control = self.open_control(batch)
        storno.action_hold("Another user held it")
        with self.assertRaisesRegex(UserError, "released or cancelled by another user"):
            control.action_process()
        self.assertFalse(self.mandate_first.sequence_type_override)

    def test_one_sequence_type_per_mandate(self):
        """Two failed first debits of one mandate (two batches): one choice."""
        batch_1 = self.send_batch()
        self.register(self.line_of(batch_1, self.inv_first_1), kind="reject")
        self.register(self.line_of(batch_1, self.inv_recurring), kind="reject")
        invoice = self.invoice(self.debtor, 75.0)
        batch_2 = self.send_batch()
        self.assertEqual(batch_2.line_ids.invoice_id, invoice)
        self.assertEqual(batch_2.line_ids.sequence_type, "FRST")
        self.register(batch_2.line_ids, kind="return")
        control = self.open_control()
        self.assertEqual(control.batch_ids, self.env["sepa.batch"])
        self.assertEqual(control.line_ids.batch_id, batch_1 | batch_2)
        self.assertEqual(self.control_line(control, invoice).sequence_type, "recurring")
        with self.assertRaisesRegex(UserError, "Mandate MDT-FIRST: choose one sequence"):
            control.action_process()
        self.control_line(control, invoice).sequence_type = "first"
        messages = (batch_1 | batch_2).message_ids
        control.action_process()
        self.assertEqual(self.mandate_first.sequence_type_override, "first")
        self.assertEqual(len((batch_1 | batch_2).message_ids - messages), 2)

    def test_choice_of_before_a_reactivation_is_ignored(self):
        """The first debit is returned MD01: the mandate is revoked. The customer signs
        again and the mandate is reactivated (its debit history restarts): the old
        control's "Recurring" no longer applies; the next debit is a first one."""
        self.company.sepa_storno_auto_revoke = True
        batch = self.send_batch()
        batch._settle()
        self.register(self.line_of(batch, self.inv_first_1), code="MD01", kind="return")
        self.assertEqual(self.mandate_first.state, "revoked")
        control = self.open_control(batch)
        line = control.line_ids
        self.assertRecordValues(line, [{"first_debit": True, "sequence_type": "recurring",
                                        "release": "hold"}])
        self.mandate_first._reactivate(fields.Date.today())
        self.assertEqual(self.mandate_first.sequence_type, "first")
        control.action_process()
        self.assertEqual(line.storno_id.release_state, "hold")
        self.assertFalse(self.mandate_first.sequence_type_override)
        self.assertEqual(self.mandate_first.sequence_type, "first")
        self.assertNotIn("Sequence type of the next debit", batch.message_ids[0].body)
        # a control opened now offers no choice for that debit either (still held: MD01
        # needs a new account or mandate, the reactivated mandate has the same account)
        line.storno_id.release_state = "none"
        self.assertRecordValues(self.open_control(batch).line_ids, [{
            "first_debit": False, "sequence_type": False, "release": "hold"}])

    def test_views_load(self):
        self.Control.get_view(view_type="form")
        self.env["sepa.batch"].get_view(
            self.env.ref("sepa_direct_debit.view_sepa_batch_form").id, "form")
