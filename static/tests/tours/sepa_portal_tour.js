/** @odoo-module **/

import { registry } from "@web/core/registry";

// The customer on "My direct debits": a wrong IBAN refused, the right one recorded,
// then the mandate revoked after the confirm step.
registry.category("web_tour.tours").add("sepa_portal_direct_debits_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open My direct debits from the portal's home",
            trigger: 'a[href="/my/direct_debits"]',
            run: "click",
        },
        {
            content: "The mandate with its masked account",
            trigger: 'tr.o_sepa_mandate:contains("NL** **** **** **4300") a:contains("MDT-RCUR")',
            run: "click",
        },
        {
            content: "Type a wrong IBAN",
            trigger: "form.o_sepa_account_form input[name=iban]",
            run: "edit NL00ABNA0123456789",
        },
        {
            trigger: "form.o_sepa_account_form button.o_sepa_change_account",
            run: "click",
        },
        {
            content: "The wrong IBAN is refused",
            trigger: '.o_sepa_portal_error:contains("is not a valid IBAN")',
        },
        {
            content: "Type the new account",
            trigger: "form.o_sepa_account_form input[name=iban]",
            run: "edit NL39 RABO 0300 0652 64",
        },
        {
            trigger: "form.o_sepa_account_form button.o_sepa_change_account",
            run: "click",
        },
        {
            content: "The new account is recorded and shown masked",
            trigger: '.o_sepa_portal_message:contains("Your new account is recorded")',
        },
        {
            trigger: '.o_sepa_masked_iban:contains("NL** **** **** **5264")',
        },
        {
            content: "Revoke the mandate",
            trigger: "a.o_sepa_revoke",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: "button.o_sepa_revoke_confirm",
            run: "click",
        },
        {
            content: "The mandate is revoked",
            trigger: '.o_sepa_portal_message:contains("The mandate is revoked")',
        },
        {
            trigger: '.o_sepa_mandate_state:contains("Revoked")',
        },
    ],
});
