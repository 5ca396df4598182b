/** @odoo-module **/
/**
 * The customer opens a signing link that can no longer sign
 * (tests/test_mandate_signing_used_tour.py): the page says why, and there is nothing to
 * fill in or sign: no form, no IBAN field, no signature widget.
 */
import { registry } from "@web/core/registry";

const NO_FORM = [
    {
        content: "No form to sign: no IBAN field, no place, no authorisation",
        trigger: "#sepa_mandate_sign:not(:has(#sepa_mandate_sign_form, #sepa_iban, #sepa_place, #sepa_authorise))",
    },
    {
        content: "No signature widget and no Sign button",
        trigger: "#sepa_mandate_sign:not(:has(owl-component, .o_web_sign_name_and_signature, .o_portal_sign_submit))",
    },
];

registry.category("web_tour.tours").add("sepa_mandate_signed_link_tour", {
    steps: () => [
        {
            content: "The link of a signed mandate says it is signed",
            trigger: '.sepa_sign_closed.alert-success h4:contains("the mandate is signed")',
        },
        {
            content: "with the mandate reference and the account masked",
            trigger: '.sepa_sign_closed:contains("MDT-USED-SIGNED"):contains("NL91 **** **** 4300")',
        },
        {
            trigger: '.sepa_sign_closed:contains("This link can no longer be used to sign")',
        },
        ...NO_FORM,
    ],
});

registry.category("web_tour.tours").add("sepa_mandate_stale_link_tour", {
    steps: () => [
        {
            content: "The link of an older e-mail says it is no longer valid",
            trigger: '.sepa_sign_closed h4:contains("This link is no longer valid")',
        },
        {
            content: "and where to find a valid one",
            trigger: '.sepa_sign_closed:contains("Use the link of the last e-mail you received")',
        },
        {
            content: "The mandate is not shown to the holder of an old link",
            trigger: '#sepa_mandate_sign:not(:contains("MDT-USED-STALE"))',
        },
        ...NO_FORM,
    ],
});
