"""A local SMTP server for the tests: every message it receives is saved as a file.

    python tools/smtp_sink.py FOLDER

listens on 127.0.0.1, on a free port the system chooses, and writes that port into
``FOLDER/port`` once it accepts connections. Each message is saved, before the server
answers 250, as ``FOLDER/<n>.eml``: the message as received, preceded by the envelope
(``X-Envelope-From``, ``X-Envelope-To``, one per recipient). Stops on SIGTERM or SIGINT.

``tools/dev.sh`` starts it for the Odoo tests (``start_smtp``) and gives them the port and
folder as ``SEPA_TEST_SMTP_PORT`` and ``SEPA_TEST_SMTP_DIR`` (``tests/common.py``,
``SmtpCaseMixin``). Needs ``aiosmtpd`` (requirements-dev.txt).
"""

import argparse
import asyncio
import itertools
import os
import signal

from aiosmtpd.smtp import SMTP


class SaveToFolder:
    """aiosmtpd handler: one ``.eml`` file per message, written before 250 is answered."""

    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        envelope_lines = [f"X-Envelope-From: {envelope.mail_from}"] + [
            f"X-Envelope-To: {recipient}" for recipient in envelope.rcpt_tos]
        data = ("\r\n".join(envelope_lines) + "\r\n").encode() + envelope.original_content
        number = next(self.counter)
        path = os.path.join(self.folder, f"{number:06d}.eml")
        with open(path + ".part", "wb") as file:
            file.write(data)
        os.replace(path + ".part", path)  # a reader never sees half a message
        return "250 Message accepted for delivery"


async def serve(folder):
    loop = asyncio.get_running_loop()
    handler = SaveToFolder(folder)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sepa-test-smtp", enable_SMTPUTF8=True),
        host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    with open(os.path.join(folder, "port.part"), "w") as file:
        file.write(str(port))
    os.replace(os.path.join(folder, "port.part"), os.path.join(folder, "port"))
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set_result, None)
    await stop
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", help="where the messages (and the port file) are written")
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    asyncio.run(serve(args.folder))


if __name__ == "__main__":
    main()
