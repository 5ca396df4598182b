"""The page where a customer signs a mandate online, opened from the e-mail's personal
link (``/my/sepa_mandate/<id>?access_token=...``), and the signature call.

Access: the mandate's portal access token, for that mandate only. The token of another
mandate gives the portal's not-found page; a token that is no longer the mandate's (a
new link was made) and a mandate that is no longer to sign give a clear page without
form.
"""

from werkzeug.exceptions import NotFound

from odoo import _, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request
from odoo.tools import consteq

from odoo.addons.portal.controllers.portal import CustomerPortal


class SepaMandateSignPortal(CustomerPortal):

    def _sepa_signing_mandate(self, mandate_id, access_token):
        """``(mandate as superuser, link_valid)``; NotFound when the link is not one
        of this mandate."""
        Mandate = request.env["sepa.mandate"].sudo()
        mandate = Mandate.browse(mandate_id).exists()
        if not mandate or not access_token:
            raise NotFound()
        if mandate.access_token and consteq(mandate.access_token, access_token):
            return mandate, True
        if Mandate.search_count([("access_token", "=", access_token)], limit=1):
            raise NotFound()  # the token of another mandate
        return mandate, False

    @http.route("/my/sepa_mandate/<int:mandate_id>", type="http", auth="public",
                website=True, sitemap=False)
    def sepa_mandate_sign_page(self, mandate_id, access_token=None, **kwargs):
        mandate, valid = self._sepa_signing_mandate(mandate_id, access_token)
        lang = mandate._sepa_sign_language(request.lang.code)
        values = {
            "mandate": mandate,
            "company": mandate.company_id,
            "creditor": mandate._sepa_creditor_name(),
            "o": mandate,
            "link_valid": valid,
            "epc_template": f"sepa_direct_debit.report_sepa_mandate_authorisation_{lang}",
            "access_token": access_token,
            "no_breadcrumbs": True,
            "page_name": "sepa_mandate_sign",
        }
        return request.render("sepa_direct_debit.portal_sepa_mandate_sign_page", values)

    @http.route("/my/sepa_mandate/<int:mandate_id>/sign", type="json", auth="public",
                website=True)
    def sepa_mandate_sign(self, mandate_id, access_token=None, **params):
        mandate, valid = self._sepa_signing_mandate(mandate_id, access_token)
        if not valid or mandate.state != "draft":
            return {"force_refresh": True}  # the page then says why
        values = {key: params.get(key) for key in (
            "holder", "iban", "place", "authorise", "name", "signature", "tz")}
        values["lang"] = request.lang.code
        evidence = {
            "ip": request.httprequest.remote_addr,
            "user_agent": request.httprequest.user_agent.string,
        }
        try:
            with request.env.cr.savepoint():
                mandate._sepa_sign_online(values, evidence)
        except (UserError, ValidationError) as error:
            return {"error": error.args[0] if error.args else _("The mandate was not signed.")}
        return {
            "force_refresh": True,
            "redirect_url": mandate.get_portal_url(),
        }
