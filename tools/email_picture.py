"""A picture of an e-mail as it arrived, for the README.

    python tools/email_picture.py MESSAGE.eml PICTURE.png

reads a message saved by the test SMTP server (tools/smtp_sink.py; ``make test`` leaves
them in ``.build/smtp/<database>/``; tests/test_notice_tour.py sends the pre-notification
and the failed-debit e-mail), writes its sender, recipient, subject and HTML body as one
page and takes a screenshot of it with headless Chromium.
"""

import argparse
import email
import email.policy
import shutil
import subprocess
import tempfile
from pathlib import Path

from markupsafe import Markup, escape

PAGE = Markup("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body {{ margin: 0; font-family: Arial, Helvetica, sans-serif; color: #222; background: #fff; }}
.head {{ background: #f3f4f6; border-bottom: 1px solid #d0d4da; padding: 12px 20px; }}
.head .subject {{ font-size: 17px; font-weight: bold; margin-bottom: 6px; }}
.head div {{ font-size: 13px; line-height: 1.5; }}
.head span {{ color: #666; display: inline-block; width: 40px; }}
.body {{ padding: 8px 20px; }}
a {{ color: #1a5fb4; }}
</style></head><body>
<div class="head"><div class="subject">{subject}</div>
<div><span>From</span>{sender}</div><div><span>To</span>{to}</div></div>
<div class="body">{body}</div>
</body></html>""")


def page(message):
    """The HTML page showing ``message`` (``email.message.EmailMessage``)."""
    body = message.get_body(("html", "plain"))
    content = body.get_content()
    if body.get_content_type() != "text/html":
        content = Markup("<pre>%s</pre>") % content
    return PAGE.format(subject=" ".join(str(message["Subject"]).split()),
                       sender=escape(str(message["From"])), to=escape(str(message["To"])),
                       body=Markup(content))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("message", type=Path, help="the .eml file")
    parser.add_argument("picture", type=Path, help="the PNG to write")
    parser.add_argument("--size", default="760,350", help="window width,height in pixels")
    args = parser.parse_args()
    message = email.message_from_bytes(args.message.read_bytes(), policy=email.policy.default)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        parser.error("chromium not found")
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder, "message.html")
        html.write_text(page(message), encoding="utf-8")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--window-size={args.size}",
                        f"--screenshot={args.picture.resolve()}", html.as_uri()],
                       check=True, capture_output=True, cwd=folder)


if __name__ == "__main__":
    main()
