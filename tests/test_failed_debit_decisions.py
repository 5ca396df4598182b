"""Deciding about failed debits: reasons that cannot succeed again on the same account,
refunds, notes for holds, "On hold" told apart from "Failed", the mandate whose account
is no longer valid, and the invoice's chatter saying why it failed (issue 18, items 5,
7 and 8)."""

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..sepa.reasons import CATALOGUE
from .common import IBAN_C, IBAN_D
from .test_storno_control import ControlCommon
from .test_storno_reasons import load_migration

NEW_IBAN = "NL98BUNQ2025551234"
#: customers of the reasons that need a new account or mandate, with their own IBAN
IBANS = ["NL86INGB0002445588", "NL93RABO0123456780", "NL51ABNA0987654321",
         "NL63TRIO0212345678", "NL46SNSB0911223344", "NL66ASNB0707070707"]


@tagged("post_install", "-at_install")
class TestFailedDebitDecisions(ControlCommon):
    def failed(self, code="AC04", kind="return", invoice=None):
        """The recurring customer's debit fails with ``code``: its storno."""
        invoice = invoice or self.inv_recurring
        batch = self.send_batch()
        return self.register(self.line_of(batch, invoice), code=code, kind=kind)

    def new_account(self, mandate, iban=NEW_IBAN):
        mandate.partner_bank_id = self.env["res.partner.bank"].create(
            {"acc_number": iban, "partner_id": mandate.partner_id.id})

    def proposal_line(self, invoice):
        wizard = self.propose()
        return (wizard.line_ids | wizard.excluded_line_ids).filtered(
            lambda line: line.invoice_id == invoice)

    def visible_buttons(self, invoice):
        """The direct debit buttons the invoice's form shows for ``invoice``."""
        from lxml import etree
        view = self.env.ref("sepa_direct_debit.view_move_form_sepa").inherit_id
        arch = etree.fromstring(self.env["account.move"].get_view(view.id, "form")["arch"])
        names = ("action_sepa_hold", "action_sepa_release", "action_sepa_release_retry")
        values = {name: invoice[name] for name in ("move_type", "sepa_state", "sepa_hold")}
        return {button.get("name") for button in arch.iter("button")
                if button.get("name") in names
                and not safe_eval(button.get("invisible") or "False", values)}

    def release_dialog(self, action):
        self.assertEqual(action["res_model"], "sepa.storno.release")
        return self.env["sepa.storno.release"].with_context(action["context"]).create({})

    # ------------------------------------------------------------------
    # the catalogue
    # ------------------------------------------------------------------

    def test_reasons_say_which_need_a_new_account(self):
        reasons = {reason.code: reason for reason in self.env["sepa.return.reason"].search([])}
        for code, entry in CATALOGUE.items():
            self.assertEqual(reasons[code].needs_new_account, entry.needs_new_account, code)
            self.assertEqual(reasons[code].invalidates_account, entry.invalidates_account,
                             code)
        self.assertEqual(
            {code for code, reason in reasons.items() if reason.needs_new_account},
            {"AC01", "AC04", "AC06", "MD01", "MD07", "MS02"})
        # a code first met in a file: from the catalogue too (unknown: no)
        unknown = self.env["sepa.return.reason"]._get_or_create(["ZZ98"])["ZZ98"]
        self.assertFalse(unknown.needs_new_account)

    # ------------------------------------------------------------------
    # the control: pre-fill, retry refused, retry anyway, refund warning, notes
    # ------------------------------------------------------------------

    def test_control_prefills_hold_for_reasons_that_cannot_succeed_again(self):
        """AC04, AC01, AC06, MD01, MD07 and MS02 are never pre-filled Retry (the mandates
        stay active: no automatic revocation); AM04 is, MD06 with a warning."""
        codes = ["AC04", "AC01", "AC06", "MD01", "MD07", "MS02"]
        debtors = {code: self.create_debtor(f"Debtor {code}", iban)
                   for code, iban in zip(codes, IBANS, strict=True)}
        invoices = {code: self.invoice(partner, 10.0) for code, (partner, _m) in debtors.items()}
        refunded, _mandate = self.create_debtor("Refunding debtor", IBAN_C)
        invoices["MD06"] = self.invoice(refunded, 12.0)
        batch = self.send_batch()
        batch._settle()
        self.Storno.register([
            {"batch_line_id": self.line_of(batch, invoice).id, "reason_code": code,
             "kind": "refund" if code == "MD06" else "return", "date": fields.Date.today()}
            for code, invoice in [*invoices.items(), ("AM04", self.inv_recurring)]])
        control = self.open_control(batch)
        for code in codes:
            line = self.control_line(control, invoices[code])
            self.assertRecordValues(line, [{
                "release": "hold", "hold_note": f"Needs a new account or mandate ({code})",
                "needs_new_account": True, "account_changed": False,
                "mandate_state": "active", "retry_anyway": False}])
            self.assertIn("Cannot succeed again on the same account", line.retry_warning)
        self.assertRecordValues(self.control_line(control, self.inv_recurring), [{
            "release": "retry", "hold_note": False, "needs_new_account": False,
            "retry_warning": False}])
        refund = self.control_line(control, invoices["MD06"])
        self.assertRecordValues(refund, [{"release": "retry", "needs_new_account": False}])
        self.assertIn("asked for a refund", refund.retry_warning)
        self.assertEqual(control.hold_count, 6)
        # processed as pre-filled: held with their note, the refund and AM04 retried
        control.action_process()
        self.assertEqual(
            set(self.control_line(control, invoices["AC04"]).storno_id.mapped(
                "release_state")), {"hold"})
        self.assertEqual(invoices["AC04"].sepa_state, "on_hold")
        self.assertEqual(invoices["MD06"].sepa_state, "to_collect")

    def test_retry_refused_while_the_mandate_has_the_same_account(self):
        self.failed("AC01")
        control = self.open_control()
        line = control.line_ids
        name = self.inv_recurring.name
        # Retry alone: refused, the invoice and the mandate named
        with self.assertRaisesRegex(ValidationError, rf"(?s){name} \(mandate MDT-RCUR\): "
                                    r"AC01 cannot succeed again on the same account"):
            line.release = "retry"
        # Retry Anyway is only allowed once the account changed
        with self.assertRaisesRegex(ValidationError, rf"{name} \(mandate MDT-RCUR\): AC01 "
                                    "cannot succeed again on the same account"):
            line.write({"release": "retry", "retry_anyway": True})
        # the customer gives a new account (an amendment): still needs Retry Anyway ...
        self.new_account(self.mandate_recurring)
        with self.assertRaisesRegex(ValidationError,
                                    "needs a new account or mandate: tick Retry Anyway"):
            line.write({"release": "retry", "retry_anyway": False})
        # ... and with it the invoice is collected again, on the new account
        line.write({"release": "retry", "retry_anyway": True, "hold_note": False})
        control.action_process()
        self.assertEqual(line.storno_id.release_state, "retry")
        self.assertEqual(self.inv_recurring.sepa_state, "to_collect")
        self.assertTrue(self.proposal_line(self.inv_recurring).selected)

    def test_process_refuses_a_retry_when_the_account_changed_back(self):
        """The check at Process reads the mandate's account then: changed back to the one
        that failed, nothing is processed."""
        storno = self.failed("MS02")
        old_bank = self.mandate_recurring.partner_bank_id
        self.new_account(self.mandate_recurring)
        control = self.open_control()
        control.line_ids.write({"release": "retry", "retry_anyway": True})
        self.mandate_recurring.partner_bank_id = old_bank
        with self.assertRaisesRegex(UserError, r"(?s)Nothing was processed.*"
                                    + self.inv_recurring.name + r" \(mandate MDT-RCUR\): "
                                    r"MS02 cannot succeed again on the same account"):
            control.action_process()
        self.assertEqual(storno.release_state, "none")

    def test_another_active_mandate_counts_as_a_change(self):
        """MD01 (no mandate): the customer signs a new mandate; the old one is closed."""
        storno = self.failed("MD01")
        self.mandate_recurring.action_close()
        self.create_mandate(partner_id=self.recurring_partner.id,
                            partner_bank_id=self.mandate_recurring.partner_bank_id.id,
                            signature_date=fields.Date.today()).action_activate()
        self.assertEqual(storno._account_changed_ids(), {storno.id})
        with self.assertRaisesRegex(UserError, "confirm with Retry Anyway"):
            storno._retry()
        storno._retry(confirmed=True)
        self.assertEqual(storno.release_state, "retry")

    def test_mandate_signed_again_counts_as_a_change(self):
        """MS02 (refused by the debtor): the customer signs the mandate again (it is
        reactivated with a new signature): retried with Retry Anyway on the same IBAN."""
        self.company.sepa_storno_auto_revoke = True
        self.company.sepa_storno_threshold = 2
        storno = self.failed("MS02")
        self.assertEqual(self.mandate_recurring.state, "revoked")
        self.assertFalse(storno._account_changed_ids())
        self.mandate_recurring._reactivate(fields.Date.today())
        self.assertEqual(storno._account_changed_ids(), {storno.id})
        storno._retry(confirmed=True)
        self.assertEqual(self.inv_recurring.sepa_state, "to_collect")

    def test_hold_needs_a_note_in_the_control(self):
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), code="AM04", kind="reject")
        control = self.open_control(batch)
        control.line_ids.write({"release": "hold", "hold_note": "  "})
        with self.assertRaisesRegex(UserError, r"(?s)Nothing was processed.*"
                                    + self.inv_recurring.name + r" \(mandate MDT-RCUR\): "
                                    r"give a note why it is held"):
            control.action_process()
        self.assertFalse(control.processed)
        control.line_ids.hold_note = "Customer disputes the amount"
        control.action_process()
        self.assertRecordValues(control.line_ids.storno_id, [{
            "release_state": "hold", "hold_note": "Customer disputes the amount"}])
        # the control's form says the note is required for a hold
        arch = self.Control.get_view(view_type="form")["arch"]
        self.assertIn('required="release == \'hold\'"', arch)

    # ------------------------------------------------------------------
    # the Failed Debits list and the invoice: notes, warnings, On hold
    # ------------------------------------------------------------------

    def test_hold_from_the_list_asks_for_a_note(self):
        storno = self.failed("AM04", kind="reject")
        dialog = self.release_dialog(storno.action_hold())
        self.assertEqual(dialog.storno_ids, storno)
        self.assertEqual(dialog.release, "hold")
        with self.assertRaisesRegex(UserError, "Give a note"):
            dialog.action_confirm()
        self.assertEqual(storno.release_state, "none")
        dialog.note = "Customer on holiday, call in June"
        dialog.action_confirm()
        self.assertRecordValues(storno, [{"release_state": "hold",
                                          "hold_note": "Customer on holiday, call in June"}])

    def test_retry_from_the_list_warns_and_refuses(self):
        """AM04 is retried at once; a refund (MD06) warns first; AC04 on the same
        account is refused even with Retry Anyway."""
        storno = self.failed("AM04", kind="reject")
        self.assertIs(storno.action_retry(), True)
        self.assertEqual(storno.release_state, "retry")

        partner, mandate = self.create_debtor("Refunding debtor", IBAN_C)
        refund_invoice = self.invoice(partner, 40.0)
        batch = self.send_batch()
        batch._settle()
        refund = self.register(self.line_of(batch, refund_invoice), code="MD06",
                               kind="refund")
        dialog = self.release_dialog(refund.action_retry())
        self.assertIn(refund_invoice.name, dialog.warning)
        self.assertIn("asked the bank for a refund", dialog.warning)
        self.assertFalse(dialog.needs_new_account)
        dialog.action_confirm()
        self.assertEqual(refund.release_state, "retry")

        partner, mandate = self.create_debtor("Closed account", IBAN_D)
        closed_invoice = self.invoice(partner, 41.0)
        closed = self.register(self.line_of(self.send_batch(), closed_invoice), code="AC04",
                               kind="reject")
        dialog = self.release_dialog(closed.action_retry())
        self.assertTrue(dialog.needs_new_account)
        self.assertIn(f"{closed_invoice.name} (mandate {mandate.name}, AC04 Account closed)"
                      ": cannot succeed again on the same account", dialog.warning)
        dialog.retry_anyway = True
        with self.assertRaisesRegex(UserError, rf"{closed_invoice.name} \(mandate "
                                    rf"{mandate.name}, AC04 Account closed\): the mandate "
                                    "still has the account that failed"):
            dialog.action_confirm()
        self.assertEqual(closed.release_state, "none")

    def test_migration_says_on_hold_for_invoices_held_before(self):
        """Invoices held before 18.0.1.4.0 were stored "Failed": the update says "On
        hold"; an undecided one stays "Failed"."""
        batch = self.send_batch()
        held = self.register(self.line_of(batch, self.inv_recurring), code="AM04")
        self.register(self.line_of(batch, self.inv_first_1), code="AM04")
        held.action_hold("Disputed")
        invoices = self.inv_recurring | self.inv_first_1
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET sepa_state = 'failed' WHERE id IN %s",
                            [tuple(invoices.ids)])
        invoices.invalidate_recordset(["sepa_state"])
        load_migration("18.0.1.4.0", "post-migrate").migrate(self.env.cr, "18.0.1.3.0")
        invoices.invalidate_recordset(["sepa_state"])
        self.assertEqual(invoices.mapped("sepa_state"), ["on_hold", "failed"])

    def test_held_invoice_is_on_hold_and_released_for_retry(self):
        """Held and undecided are told apart on the invoice: Failed, then On hold with
        the note; the invoice offers Release for Retry instead of Hold Direct Debit."""
        storno = self.failed("AM04", kind="reject")
        invoice = self.inv_recurring
        self.assertEqual(invoice.sepa_state, "failed")
        self.assertEqual(invoice.sepa_last_storno_id, storno)
        Move = self.env["account.move"]
        self.assertIn(invoice, Move.search([("sepa_state", "=", "failed")]))
        # Hold Direct Debit on the failed invoice holds its failed debit, with a note
        dialog = self.release_dialog(invoice.action_sepa_hold())
        self.assertEqual(dialog.storno_ids, storno)
        dialog.note = "Disputed"
        dialog.action_confirm()
        self.assertRecordValues(invoice, [{"sepa_state": "on_hold", "sepa_hold": False,
                                           "sepa_storno_hold_note": "Disputed"}])
        self.assertNotIn(invoice, Move.search([("sepa_state", "=", "failed")]))
        self.assertIn(invoice, Move.search([("sepa_state", "=", "on_hold")]))
        # the form offers Release for Retry, not Hold Direct Debit
        self.assertEqual(self.visible_buttons(invoice), {"action_sepa_release_retry"})
        self.assertIs(invoice.action_sepa_release_retry(), True)
        self.assertEqual(storno.release_state, "retry")
        self.assertEqual(invoice.sepa_state, "to_collect")
        self.assertEqual(self.visible_buttons(invoice), {"action_sepa_hold"})
        with self.assertRaisesRegex(UserError, "No failed debit of these invoices is held"):
            invoice.action_sepa_release_retry()

    def test_release_for_retry_of_a_closed_account_asks_first(self):
        storno = self.failed("AC04")
        storno.action_hold("Needs a new account")
        self.assertEqual(self.inv_recurring.sepa_state, "on_hold")
        dialog = self.release_dialog(self.inv_recurring.action_sepa_release_retry())
        self.assertTrue(dialog.needs_new_account)
        with self.assertRaisesRegex(UserError, "still has the account that failed"):
            dialog.action_confirm()
        self.new_account(self.mandate_recurring)
        dialog = self.release_dialog(self.inv_recurring.action_sepa_release_retry())
        self.assertIn("the account changed since", dialog.warning)
        with self.assertRaisesRegex(UserError, "confirm with Retry Anyway"):
            dialog.action_confirm()
        dialog.retry_anyway = True
        dialog.action_confirm()
        self.assertEqual(self.inv_recurring.sepa_state, "to_collect")

    # ------------------------------------------------------------------
    # the mandate whose account is no longer valid
    # ------------------------------------------------------------------

    def test_closed_account_flags_the_mandate_until_its_iban_changes(self):
        storno = self.failed("AC04")
        mandate = self.mandate_recurring
        self.assertRecordValues(mandate, [{"state": "active", "account_invalid": True,
                                           "invalid_account_storno_id": storno.id}])
        self.assertEqual(storno.debited_iban, "NL91ABNA0417164300")
        self.assertIn(mandate, self.Mandate.search([("account_invalid", "=", True)]))
        self.assertIn("Account no longer valid on mandate MDT-RCUR (AC04 Account closed)",
                      self.recurring_partner.sepa_account_warning)
        # the forms show it
        for model, view in (("sepa.mandate", "sepa_direct_debit.view_sepa_mandate_form"),
                            ("res.partner", "sepa_direct_debit.view_partner_form_sepa")):
            arch = self.env[model].get_view(self.env.ref(view).id, "form")["arch"]
            self.assertIn("account_invalid" if model == "sepa.mandate"
                          else "sepa_account_warning", arch)
        # the next invoice of the customer is left out of the proposal, saying why
        next_invoice = self.invoice(self.recurring_partner, 35.0)
        line = self.proposal_line(next_invoice)
        self.assertFalse(line.selected)
        self.assertRegex(line.reason, r"^Account no longer valid \(AC04, debit failed on "
                         r".+\): enter the customer's new IBAN on the mandate$")
        # a new IBAN (an amendment) clears it: proposed again
        self.new_account(mandate)
        self.assertRecordValues(mandate, [{"account_invalid": False,
                                           "invalid_account_storno_id": False,
                                           "original_iban": "NL91ABNA0417164300"}])
        self.assertFalse(self.recurring_partner.sepa_account_warning)
        line = self.proposal_line(next_invoice)
        self.assertFalse(line.reason)
        self.assertTrue(line.selected)

    def test_flag_cleared_by_editing_the_account_or_cancelling_the_storno(self):
        batch = self.send_batch()
        line = self.line_of(batch, self.inv_recurring)
        storno = self.register(line, code="AC01", kind="return")
        mandate = self.mandate_recurring
        self.assertTrue(mandate.account_invalid)
        storno.action_cancel()
        self.assertFalse(mandate.account_invalid)
        # registered again: the number of the bank account itself is corrected
        self.register(line, code="AC01", kind="return")
        self.assertTrue(mandate.account_invalid)
        mandate.partner_bank_id.acc_number = NEW_IBAN
        self.assertFalse(mandate.account_invalid)
        self.assertEqual(mandate.original_iban, "NL91ABNA0417164300")

    def test_flag_set_wise_and_only_for_the_account_that_failed(self):
        """One registration flags every mandate of its AC01/AC04 debits; another reason
        flags nothing, nor does AC04 when the account changed meanwhile."""
        first_partner, first_mandate = self.create_debtor("Debtor one", IBAN_C)
        second_partner, second_mandate = self.create_debtor("Debtor two", IBAN_D)
        changed_partner, changed_mandate = self.create_debtor("Debtor three", IBANS[0])
        invoices = [self.invoice(partner, 20.0) for partner in
                    (first_partner, second_partner, changed_partner)]
        batch = self.send_batch()
        self.new_account(changed_mandate)  # before the return arrives
        stornos = self.Storno.register([
            {"batch_line_id": self.line_of(batch, invoice).id, "reason_code": code,
             "kind": "reject", "date": fields.Date.today()}
            for invoice, code in zip([*invoices, self.inv_recurring],
                                     ["AC04", "AC01", "AC04", "AM04"], strict=True)])
        self.assertEqual(
            (first_mandate | second_mandate | changed_mandate
             | self.mandate_recurring).mapped("account_invalid"),
            [True, True, False, False])
        self.assertEqual(first_mandate.invalid_account_storno_id, stornos[0])
        self.assertEqual(changed_mandate.invalid_account_storno_id, self.Storno)
        # the debited account is the one the file carried: the changed mandate's old one
        self.assertEqual(stornos[2].debited_iban, IBANS[0])

    # ------------------------------------------------------------------
    # the invoice's chatter
    # ------------------------------------------------------------------

    def test_failed_invoice_says_why_in_its_chatter(self):
        """One note per invoice of the registration: the failed debit (a link), its date
        and the reason in words; written set-wise (the same queries for 1 failed debit
        as for many, no message posted per invoice)."""
        batch = self.send_batch()
        lines = self.line_of(batch, self.inv_first_1) | self.line_of(batch, self.inv_recurring)
        stornos = self.Storno.register([
            {"batch_line_id": line.id, "reason_code": code, "kind": "reject",
             "date": fields.Date.to_date("2025-03-04")}
            for line, code in zip(lines, ["AM04", "AC04"], strict=True)])
        merged = stornos.filtered(lambda s: self.inv_first_1 in s.invoice_ids)
        for invoice, storno, words in (
                (self.inv_first_1, merged, "Insufficient funds (AM04)"),
                (self.inv_first_2, merged, "Insufficient funds (AM04)"),
                (self.inv_recurring, stornos - merged, "Account closed (AC04)")):
            message = invoice.message_ids.filtered(
                lambda m, s=storno: f'data-oe-id="{s.id}"' in str(m.body))
            self.assertEqual(len(message), 1, invoice.name)
            body = str(message.body)
            self.assertIn('data-oe-model="sepa.storno"', body)
            self.assertIn(f">{storno.name}</a>", body)
            self.assertIn("reject of 03/04/2025", body)
            self.assertIn(f"Reason: {words}", body)
            self.assertRecordValues(message, [{
                "message_type": "notification", "is_internal": True,
                "subtype_id": self.env.ref("mail.mt_note").id,
                "author_id": self.env.user.partner_id.id, "model": "account.move",
                "res_id": invoice.id}])
            # shown in the reader's language: made again from its parts, as written
            self.assertEqual(message.sepa_i18n[0][0], "invoice_debit_failed")
            self.assertEqual(str(self.env["mail.message"]._sepa_body(message.sepa_i18n)),
                             body)
        # set-wise: as many queries for the three invoices as for one
        cr = self.env.cr
        counts = []
        for records in (merged[:0] | stornos - merged, stornos):
            before = cr.sql_log_count
            records._log_on_invoices()
            counts.append(cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(len(self.inv_first_2.message_ids.filtered(
            lambda m: "Direct debit failed" in str(m.body))), 2)
