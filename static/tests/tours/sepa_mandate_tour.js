/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";

registry.category("web_tour.tours").add("sepa_mandate_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open Mandates", "sepa_direct_debit.menu_sepa_mandate"),
        {
            content: "Open the mandate",
            trigger: '.o_list_view .o_data_row td[name="name"]:contains("MDT-TOUR-1")',
            run: "click",
        },
        {
            content: "The mandate form shows the reference, debtor and IBAN",
            trigger: '.o_form_view .o_field_widget[name="name"] input:value("MDT-TOUR-1")',
        },
        {
            trigger: '.o_form_view .o_field_widget[name="partner_id"]:contains("Tour Debtor"), .o_form_view .o_field_widget[name="partner_id"] input:value("Tour Debtor")',
        },
        {
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("Active")',
        },
    ],
});
