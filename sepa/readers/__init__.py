"""R-transaction readers: camt.053, camt.054 and pain.002 to typed records.

:func:`read_message` reads only the root element's namespace to find the message type and
version, then hands the bytes to the one handler registered for that type in
:data:`HANDLERS` (no try-each-parser).
"""

import re

from ..errors import SepaParseError
from .base import DEFAULT_MAX_BYTES, check_size, ends_early, sniff_root
from .camt import read_camt
from .pain002 import read_pain002
from .records import KINDS, LEVELS, STORNO_KINDS, PaymentInfoStatus, ReadResult, RTransaction

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HANDLERS",
    "KINDS",
    "LEVELS",
    "STORNO_KINDS",
    "PaymentInfoStatus",
    "ReadResult",
    "RTransaction",
    "message_name",
    "read_message",
]

#: message type -> (handler, first version, last version, root child element).
#: A handler is called as ``handler(message_name, namespace, data)``.
HANDLERS = {
    "camt.053": (read_camt, 2, 8, "BkToCstmrStmt"),
    "camt.054": (read_camt, 2, 8, "BkToCstmrDbtCdtNtfctn"),
    "pain.002": (read_pain002, 3, 10, "CstmrPmtStsRpt"),
}

# The last segment of the namespace: ISO "urn:iso:std:iso:20022:tech:xsd:camt.054.001.04",
# or a bank/country variant such as ".../pain.002.001.03.ch.02.xsd".
_NAME = re.compile(
    r"(?:^|[:/])(?P<type>[a-z]{4}\.\d{3})\.(?P<variant>\d{3})\.(?P<version>\d{2})"
    r"(?P<flavour>(?:\.[a-z]{2}\.\d{2})?)(?:\.xsd)?$"
)


def message_name(namespace):
    """Return ``(type, name)`` from a root namespace, e.g. ``("camt.054", "camt.054.001.04")``.

    Raise SepaParseError for a namespace that is not a supported message and version.
    """
    match = _NAME.search(namespace or "")
    if match is None:
        raise SepaParseError(
            f"unknown message: root namespace {namespace!r} is not a camt.053, camt.054 "
            "or pain.002 message",
            field="namespace",
            value=namespace,
        )
    kind = match["type"]
    name = f"{kind}.{match['variant']}.{match['version']}{match['flavour']}"
    if kind not in HANDLERS:
        supported = ", ".join(HANDLERS)
        raise SepaParseError(
            f"unsupported message {name}: this reader reads {supported}",
            field="namespace",
            value=namespace,
        )
    _handler, first, last, _root = HANDLERS[kind]
    version = int(match["version"])
    if match["variant"] != "001" or not first <= version <= last:
        raise SepaParseError(
            f"unsupported version {name}: {kind}.001.{first:02d} to .{last:02d} are read",
            field="namespace",
            value=namespace,
        )
    return kind, name


def read_message(data, max_bytes=DEFAULT_MAX_BYTES):
    """Read a camt.053, camt.054 or pain.002 file (bytes) and return a ReadResult.

    Raise SepaParseError for input that is empty, too large (``max_bytes``, None for no
    limit), not well-formed, declares a DOCTYPE, or is not a supported message. Input
    that is well-formed as far as it goes but ends before its document does (a file cut
    off) is not well-formed with ``field`` "end".
    """
    if isinstance(data, str):
        raise TypeError("read_message expects bytes, not str")
    check_size(data, max_bytes)
    try:
        return _read(data)
    except SepaParseError as error:
        if error.field == "xml" and ends_early(data):
            raise SepaParseError(
                "broken XML: the input ends before the message does "
                f"({str(error).removeprefix('broken XML: ')})",
                field="end") from None
        raise


def _read(data):
    namespace, root, child = sniff_root(data)
    if root != "Document":
        raise SepaParseError(
            f"unknown message: root element is {root!r}, expected an ISO 20022 'Document'",
            field="root",
            value=root,
        )
    kind, name = message_name(namespace)
    handler, _first, _last, expected_child = HANDLERS[kind]
    if child != expected_child:
        raise SepaParseError(
            f"{name}: expected {expected_child!r} in 'Document', found {child!r}",
            field="Document",
            value=child,
        )
    return handler(name, namespace, data)
