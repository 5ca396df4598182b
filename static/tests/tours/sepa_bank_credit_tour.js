/** @odoo-module **/

import { registry } from "@web/core/registry";

// Register Bank Credit as a billing user clicks it on a sent batch: the dialog proposes
// what the bank still owes and lists the open payment block; confirmed with the bank's
// reference, the batch is settled and the button is gone. The test
// (tests/test_bank_credit.py) opens the form of a sent batch of one debit of 125.00.
registry.category("web_tour.tours").add("sepa_bank_credit_tour", {
    steps: () => [
        {
            content: "Register the bank's credit of the sent batch",
            trigger: '.o_form_view .o_form_statusbar button[name="action_open_bank_credit"]:contains("Register Bank Credit")',
            run: "click",
        },
        {
            content: "The dialog lists the open payment block",
            trigger: '.modal .o_field_widget[name="open_blocks"]:contains("-P1")',
        },
        {
            content: "It proposes what the bank still owes",
            trigger: '.modal .o_field_widget[name="amount"] input:value("125.00")',
        },
        {
            content: "Type the bank's reference",
            trigger: '.modal .o_field_widget[name="bank_reference"] input',
            run: "edit TOUR-CREDIT-1",
        },
        {
            content: "Confirm",
            trigger: '.modal-footer button[name="action_confirm"]',
            run: "click",
        },
        {
            content: "The batch is settled, the button is gone",
            trigger: '.o_form_view:not(:has(.modal)) .o_statusbar_status button[aria-checked="true"]:contains("Settled")',
        },
        {
            content: "No second credit",
            trigger: '.o_form_view .o_form_statusbar:not(:has(button[name="action_open_bank_credit"]))',
        },
    ],
});
