"""The customer's own page "My direct debits" in Odoo's customer portal.

Portal users have no access rights on the addon's models: every read is ``sudo()``,
limited to the mandates of the logged-in customer's commercial partner, or to the one
mandate whose access token the link carries (``_sepa_mandate_check_access``). Anything
else is the portal's not-found page.
"""

from odoo import _, fields, http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request
from odoo.tools import consteq

from odoo.addons.portal.controllers.portal import CustomerPortal


class SepaDirectDebitPortal(CustomerPortal):

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    def _sepa_customer(self):
        """The commercial partner of the logged-in user (none for the public user)."""
        user = request.env.user
        if user._is_public():
            return request.env["res.partner"]
        return user.partner_id.commercial_partner_id

    def _sepa_mandates(self):
        customer = self._sepa_customer()
        if not customer:
            return request.env["sepa.mandate"].sudo()
        return request.env["sepa.mandate"].sudo().search([("partner_id", "=", customer.id)])

    def _sepa_mandate_check_access(self, mandate_id, access_token=None):
        """The mandate, sudo, when it is the customer's or the token is its own; else
        AccessError or MissingError."""
        mandate = request.env["sepa.mandate"].sudo().browse(mandate_id).exists()
        if not mandate:
            raise MissingError(_("This document does not exist."))
        customer = self._sepa_customer()
        if customer and mandate.partner_id == customer:
            return mandate
        if access_token and mandate.access_token and consteq(mandate.access_token,
                                                              access_token):
            return mandate
        raise AccessError(_("This document does not exist."))

    def _sepa_evidence(self):
        httprequest = request.httprequest
        return {
            "when": fields.Datetime.now(),
            "ip": httprequest.remote_addr,
            "agent": httprequest.user_agent.string if httprequest.user_agent else "",
        }

    def _sepa_mandate_url(self, mandate, access_token=None, **params):
        url = mandate._portal_direct_debit_url()
        query = dict(params, access_token=access_token) if access_token else params
        if query:
            url += "?" + "&".join("%s=%s" % item for item in query.items())
        return url

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "sepa_mandate_count" in counters:
            customer = self._sepa_customer()
            values["sepa_mandate_count"] = request.env["sepa.mandate"].sudo().search_count(
                [("partner_id", "=", customer.id)]) if customer else 0
        return values

    # ------------------------------------------------------------------
    # PAGES
    # ------------------------------------------------------------------

    @http.route(["/my/direct_debits"], type="http", auth="user", website=True)
    def portal_my_direct_debits(self, **kw):
        customer = self._sepa_customer()
        Mandate = request.env["sepa.mandate"].sudo()
        values = self._prepare_portal_layout_values()
        values.update({
            "page_name": "direct_debits",
            "mandates": self._sepa_mandates(),
            "debits": Mandate._portal_debits(partner=customer),
            "planned": Mandate._portal_planned_invoices(partner=customer),
        })
        return request.render("sepa_direct_debit.portal_my_direct_debits", values)

    @http.route(["/my/direct_debits/<int:mandate_id>"], type="http", auth="public",
                website=True)
    def portal_direct_debit_mandate(self, mandate_id, access_token=None, message=None,
                                    error=None, **kw):
        try:
            mandate = self._sepa_mandate_check_access(mandate_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        return self._sepa_render_mandate(mandate, access_token, message=message, error=error)

    def _sepa_render_mandate(self, mandate, access_token, **extra):
        values = self._prepare_portal_layout_values()
        values.update({
            "page_name": "direct_debit",
            "mandate": mandate,
            "access_token": access_token,
            "debits": mandate._portal_debits(),
            "planned": mandate._portal_planned_invoices(),
            "sent_lines": mandate._portal_sent_lines() if mandate.state == "revoked" else [],
            **extra,
        })
        return request.render("sepa_direct_debit.portal_direct_debit_mandate", values)

    @http.route(["/my/direct_debits/<int:mandate_id>/pdf"], type="http", auth="public",
                website=True)
    def portal_direct_debit_pdf(self, mandate_id, access_token=None, **kw):
        try:
            mandate = self._sepa_mandate_check_access(mandate_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        return self._show_report(model=mandate, report_type="pdf",
                                 report_ref="sepa_direct_debit.action_report_sepa_mandate",
                                 download=True)

    @http.route(["/my/direct_debits/<int:mandate_id>/account"], type="http", auth="public",
                methods=["POST"], website=True)
    def portal_direct_debit_account(self, mandate_id, access_token=None, iban=None,
                                    holder=None, **kw):
        try:
            mandate = self._sepa_mandate_check_access(mandate_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        try:
            # a savepoint: a refused change writes nothing
            with request.env.cr.savepoint():
                mandate._portal_change_account(iban, holder, self._sepa_evidence())
        except UserError as error:
            return self._sepa_render_mandate(mandate, access_token, error=error.args[0],
                                             iban=iban, holder=holder)
        return request.redirect(self._sepa_mandate_url(mandate, access_token,
                                                       message="account"))

    @http.route(["/my/direct_debits/<int:mandate_id>/revoke"], type="http", auth="public",
                methods=["GET", "POST"], website=True)
    def portal_direct_debit_revoke(self, mandate_id, access_token=None, confirm=None, **kw):
        try:
            mandate = self._sepa_mandate_check_access(mandate_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        if request.httprequest.method == "POST" and confirm:
            try:
                with request.env.cr.savepoint():
                    mandate._portal_revoke(self._sepa_evidence())
            except UserError as error:
                return self._sepa_render_mandate(mandate, access_token, error=error.args[0])
            return request.redirect(self._sepa_mandate_url(mandate, access_token,
                                                           message="revoked"))
        values = self._prepare_portal_layout_values()
        values.update({
            "page_name": "direct_debit",
            "mandate": mandate,
            "access_token": access_token,
            "sent_lines": mandate._portal_sent_lines(),
        })
        return request.render("sepa_direct_debit.portal_direct_debit_revoke", values)
