"""The README's pictures of "Several creditor identifiers" (docs/images/creditors.png,
docs/images/creditor-mandate.png), taken in Chromium as an accounting administrator:
the company's two creditor identifiers, and a mandate moved to the other one (its
amendment pending).

Only when asked:  SEPA_PICTURES_DIR=<folder> tools/dev.sh odoo-tests DB
tests/picture_creditor.py  writes both pictures into that folder."""

import base64
import io
import os
import pathlib
import unittest

from PIL import Image

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from .test_creditor import CreditorCommon

PICTURES_DIR = os.environ.get("SEPA_PICTURES_DIR")
MAX_BYTES = 150_000


@tagged("post_install", "-at_install")
@unittest.skipUnless(PICTURES_DIR, "the README pictures are taken only with SEPA_PICTURES_DIR")
class TestCreditorPicture(CreditorCommon, HttpCase):

    browser_size = "1280x620"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # names as a reader would see them, not the test fixture's
        cls.company.name = "Tennisvereniging De Kaats"
        cls.creditor_1.name = "Tennisvereniging De Kaats"
        cls.creditor_2.name = "De Kaats Jeugdkamp"
        cls.creditor_2.journal_ids = cls.bank_journal
        cls.user = new_test_user(cls.env, login="sepa_picture_admin",
                                 groups="account.group_account_manager,base.group_user",
                                 company_id=cls.company.id, name="Marloes Bakker")
        cls.create_debtor("Sanne Visser", "NL44RABO0123456789", name="KAMP-0001",
                          creditor_id=cls.creditor_2.id)
        cls.mandate_recurring.last_debit_date = "2025-11-03"
        cls.mandate_recurring.creditor_id = cls.creditor_1  # an amendment pending

    def capture(self, url_path, ready):
        """The page at ``url_path`` as the administrator, PNG bytes at the window's
        size."""
        browser = ChromeBrowser(self)
        try:
            self.authenticate(self.user.login, self.user.login, browser=browser)
            self.cr.flush()
            self.cr.clear()
            browser.navigate_to(self.base_url() + url_path, wait_stop=True)
            self.assertTrue(browser._wait_ready(ready), "the page did not show: " + ready)
            width, height = (int(v) for v in self.browser_size.replace("x", ",").split(","))
            browser._websocket_request("Emulation.setDeviceMetricsOverride", params={
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            shot = browser._websocket_request(
                "Page.captureScreenshot", params={"format": "png"}, timeout=30)
            return base64.b64decode(shot["data"])
        finally:
            browser.stop()
            self._wait_remaining_requests()

    def save(self, png, name):
        image = Image.open(io.BytesIO(png))
        data = png
        if len(data) > MAX_BYTES / 2:  # a palette of 256 colours: the screen's flat colours
            out = io.BytesIO()
            image.convert("RGB").quantize(colors=256).save(out, "PNG", optimize=True)
            data = out.getvalue()
        self.assertLess(len(data), MAX_BYTES)
        path = pathlib.Path(PICTURES_DIR) / name
        path.write_bytes(data)
        print(f"{path.name}: {image.size[0]}x{image.size[1]}, {len(data)} bytes")  # noqa: T201

    def test_creditor_pictures(self):
        ready = ("document.readyState === 'complete'"
                 " && document.querySelectorAll('.o_data_row').length === 2")
        self.save(self.capture("/odoo/action-sepa_direct_debit.action_sepa_creditor", ready),
                  "creditors.png")
        ready = ("document.readyState === 'complete'"
                 " && !!document.querySelector('.o_field_widget[name=creditor_id] a,"
                 " .o_field_widget[name=creditor_id] input')")
        url = ("/odoo/action-sepa_direct_debit.action_sepa_mandate/"
               f"{self.mandate_recurring.id}")
        self.browser_size = "1280x760"
        self.save(self.capture(url, ready), "creditor-mandate.png")
