/** @odoo-module **/
/**
 * The customer signs a mandate on the page of the e-mail's link
 * (tests/test_mandate_signing.py opens the link it read from the local SMTP server):
 * a wrong IBAN is refused with the reason, the right one signs.
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("sepa_mandate_sign_tour", {
    steps: () => [
        {
            content: "The page shows the mandate reference and the EPC text",
            trigger: '#sepa_mandate_reference:contains("MDT-SIGN-TOUR")',
        },
        {
            trigger: '#sepa_mandate_text:contains("entitled to a refund")',
        },
        {
            content: "Type a wrong IBAN",
            trigger: "#sepa_iban",
            run: "edit NL20INGB0001234568",
        },
        {
            content: "The IBAN is marked while typing",
            trigger: "#sepa_iban.is-invalid",
        },
        {
            content: "Give the place",
            trigger: "#sepa_place",
            run: "edit Utrecht",
        },
        {
            content: "Authorise",
            trigger: "#sepa_authorise",
            run: "check",
        },
        {
            content: "Sign (the typed name is the signature)",
            trigger: ".o_portal_sign_submit:enabled",
            run: "click",
        },
        {
            content: "The wrong IBAN is refused with the reason",
            trigger: '.o_portal_sign_error_msg:contains("NL20INGB0001234568")',
        },
        {
            content: "Type the right IBAN",
            trigger: "#sepa_iban",
            run: "edit NL91 ABNA 0417 1643 00",
        },
        {
            trigger: "#sepa_iban.is-valid",
        },
        {
            content: "Sign again",
            trigger: ".o_portal_sign_submit:enabled",
            run: "click",
        },
        {
            content: "The mandate is signed: the page says so, the account masked",
            trigger: '.sepa_sign_closed:contains("NL91 **** **** 4300")',
        },
    ],
});
