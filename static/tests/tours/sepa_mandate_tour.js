/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("sepa_mandate_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Invoicing / Accounting app",
            trigger: '.o_app[data-menu-xmlid="account.menu_finance"]',
            run: "click",
        },
        {
            content: "Open the Direct Debit menu",
            trigger: '.o_main_navbar [data-menu-xmlid="sepa_direct_debit.menu_sepa_direct_debit"]',
            run: "click",
        },
        {
            content: "Open Mandates",
            trigger: '.dropdown-item[data-menu-xmlid="sepa_direct_debit.menu_sepa_mandate"]',
            run: "click",
        },
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
