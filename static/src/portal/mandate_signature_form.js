/** @odoo-module **/
/**
 * The signature of a direct debit mandate (the signing page,
 * views/portal_mandate_sign_templates.xml): Odoo's portal signature form, whose call
 * also sends the page's account holder, IBAN, place and authorisation. The server
 * checks everything (controllers/portal_mandate_sign.py) and answers an error, shown
 * by the form, or a refresh that shows the signed mandate. While typing, the IBAN's
 * check digits are checked here too (a hint only).
 */
import { Component, onMounted, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { NameAndSignature } from "@web/core/signature/name_and_signature";
import { redirect } from "@web/core/utils/urls";

/** True when ``value`` looks like an IBAN with correct check digits (ISO 7064 MOD 97-10). */
export function ibanLooksValid(value) {
    const iban = (value || "").replace(/\s+/g, "").toUpperCase();
    if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(iban)) {
        return false;
    }
    const moved = iban.slice(4) + iban.slice(0, 4);
    let remainder = 0;
    for (const char of moved) {
        const digits = /[A-Z]/.test(char) ? String(char.charCodeAt(0) - 55) : char;
        for (const digit of digits) {
            remainder = (remainder * 10 + Number(digit)) % 97;
        }
    }
    return remainder === 1;
}

/** Odoo's portal signature form (its template, on the page rather than in a dialog). */
export class SepaMandateSignatureForm extends Component {
    static template = "portal.SignatureForm";
    static components = { NameAndSignature };
    static props = ["*"];

    setup() {
        this.csrfToken = odoo.csrf_token;
        this.state = useState({ error: false, success: false });
        this.signature = useState({ name: this.props.defaultName });
        this.nameAndSignatureProps = { signature: this.signature, fontColor: "black" };
        onMounted(() => {
            const input = document.querySelector("#sepa_iban");
            if (input) {
                const check = () => {
                    const typed = input.value.replace(/\s+/g, "");
                    input.classList.toggle("is-invalid", typed.length >= 5 && !ibanLooksValid(typed));
                    input.classList.toggle("is-valid", ibanLooksValid(typed));
                };
                input.addEventListener("input", check);
                check();
            }
        });
    }

    get sendLabel() {
        return this.props.sendLabel || _t("Sign");
    }

    async onClickSubmit() {
        const form = document.querySelector("#sepa_mandate_sign_form");
        const button = document.querySelector(".o_portal_sign_submit");
        button.setAttribute("disabled", "disabled");
        let data;
        try {
            data = await rpc(this.props.callUrl, {
                access_token: this.props.accessToken,
                holder: form.elements.holder.value,
                iban: form.elements.iban.value,
                place: form.elements.place.value,
                authorise: form.elements.authorise.checked,
                name: this.signature.name,
                signature: this.signature.getSignatureImage().split(",")[1],
                tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
            });
        } finally {
            button.removeAttribute("disabled");
        }
        if (data.force_refresh) {
            if (data.redirect_url) {
                redirect(data.redirect_url);
            } else {
                window.location.reload();
            }
            return new Promise(() => {});
        }
        this.state.error = data.error || false;
    }
}

registry
    .category("public_components")
    .add("sepa_direct_debit.mandate_signature_form", SepaMandateSignatureForm);
