"""The README's picture of "My direct debits" (docs/images/my-direct-debits.png), taken in
Chromium as the portal customer of tests/test_portal_direct_debits.py: a mandate, a
collected, a failed and a sent debit, and an open invoice to be collected.

Only when asked:  SEPA_PICTURES_DIR=<folder> tools/dev.sh odoo-tests DB
tests/test_portal_picture.py  writes my-direct-debits.png into that folder."""

import base64
import io
import os
import pathlib
import unittest

from PIL import Image

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from . import test_portal_direct_debits as portal

PICTURES_DIR = os.environ.get("SEPA_PICTURES_DIR")
MAX_BYTES = 150_000


@tagged("post_install", "-at_install")
@unittest.skipUnless(PICTURES_DIR, "the README picture is taken only with SEPA_PICTURES_DIR")
class TestPortalPicture(portal.PortalDirectDebitCommon, HttpCase):

    browser_size = "1280x900"

    def capture(self, url_path, login, ready):
        """The whole page at ``url_path`` as ``login``, PNG bytes (one device pixel per
        CSS pixel, the window's width, the page's height)."""
        browser = ChromeBrowser(self)
        try:
            self.authenticate(login, login, browser=browser)
            self.cr.flush()
            self.cr.clear()
            browser.navigate_to(self.base_url() + url_path, wait_stop=True)
            self.assertTrue(browser._wait_ready(ready), "the page did not show: " + ready)
            height = browser._websocket_request(
                "Runtime.evaluate",
                params={"expression": "document.documentElement.scrollHeight",
                        "returnByValue": True})["result"]["value"]
            width = int(self.browser_size.replace("x", ",").split(",")[0])
            browser._websocket_request("Emulation.setDeviceMetricsOverride", params={
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            shot = browser._websocket_request(
                "Page.captureScreenshot", params={"format": "png"}, timeout=30)
            return base64.b64decode(shot["data"])
        finally:
            browser.stop()
            self._wait_remaining_requests()

    def test_my_direct_debits_picture(self):
        self.company.sepa_collection_day = 15
        # names as a reader would see them, not the test fixture's
        self.company.name = "Tennisvereniging De Kaats"
        self.user_a.name = "Jan de Vries jr."
        ready = ("document.readyState === 'complete'"
                 " && !!document.querySelector('tr.o_sepa_mandate')")
        png = self.capture("/my/direct_debits", "portal_dd_a", ready)
        image = Image.open(io.BytesIO(png))
        data = png
        if len(data) > MAX_BYTES:  # a palette of 256 colours: the screen's flat colours
            out = io.BytesIO()
            image.convert("RGB").quantize(colors=256).save(out, "PNG", optimize=True)
            data = out.getvalue()
        self.assertLess(len(data), MAX_BYTES)
        path = pathlib.Path(PICTURES_DIR) / "my-direct-debits.png"
        path.write_bytes(data)
        print(f"{path.name}: {image.size[0]}x{image.size[1]}, {len(data)} bytes")  # noqa: T201
