"""Safe, streaming XML access shared by the message handlers.

Parsing never expands entities, never loads a DTD and never touches the network; any
DOCTYPE is refused outright, and input above a size limit is refused before parsing.
Handlers receive elements one at a time from :func:`iter_ends` and call :func:`release`
when done, so memory stays flat however many entries a file holds.

Lookups take paths of ISO local names (``"Refs/EndToEndId"``); :class:`Xml` and
:class:`Fields` add the message's namespace, so one handler serves every version of a
message. :class:`Fields` reads all the values of an element with one compiled XPath,
which keeps large files fast.
"""

import io
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from lxml import etree

from ..errors import SepaParseError

#: Default size limit of an input file (bytes).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def check_size(data, max_bytes=DEFAULT_MAX_BYTES):
    """Raise SepaParseError when ``data`` is empty (or blank) or longer than ``max_bytes``.

    Both errors have ``field`` "size"; an empty input has ``value`` 0.
    """
    if not data or data.isspace():
        raise SepaParseError("empty input: expected a camt.053, camt.054 or pain.002 file",
                             field="size", value=0)
    if max_bytes is not None and len(data) > max_bytes:
        raise SepaParseError(
            f"input is {len(data):,} bytes, more than the limit of {max_bytes:,} bytes",
            field="size",
            value=len(data),
        )


def _iterparse(data, events, tag=None):
    """Return a hardened ``lxml.etree.iterparse`` over ``data`` (bytes)."""
    return etree.iterparse(io.BytesIO(data), events=events, tag=tag, **_PARSER_OPTIONS)


def _syntax_error(exc):
    """Wrap an lxml syntax error into a one-line SepaParseError."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return SepaParseError(f"broken XML: {message}", field="xml")


class _NoTree:
    """Parser target that builds nothing: for checking well-formedness only."""

    def start(self, tag, attrib, nsmap=None):
        pass

    def end(self, tag):
        pass

    def data(self, data):
        pass

    def close(self):
        return None


def ends_early(data):
    """Whether ``data`` is well-formed XML as far as it goes but stops before the end of
    its document (a truncated file: cut off in a download or an upload).

    Fed to a parser that builds no tree: a syntax error met while reading is a broken
    file; an error only when the parser is told the input is over means the document
    was not finished.
    """
    parser = etree.XMLParser(target=_NoTree(), **_PARSER_OPTIONS)
    try:
        parser.feed(data)
    except etree.XMLSyntaxError:
        return False
    try:
        parser.close()
    except etree.XMLSyntaxError:
        return True
    return False


def reject_doctype(element):
    """Raise SepaParseError if the document of ``element`` declares a DOCTYPE."""
    docinfo = element.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or docinfo.system_url:
        raise SepaParseError(
            "DOCTYPE / DTD declarations are not allowed (possible XXE or entity bomb)",
            field="DOCTYPE",
        )


def sniff_root(data):
    """Return ``(namespace, root name, first child name)`` reading only the first start tags.

    The first child name is None when the root element is empty.
    """
    events = _iterparse(data, ("start", "end"))
    try:
        _event, root = next(events)
        reject_doctype(root)
        event, child = next(events)
    except StopIteration:
        raise SepaParseError("broken XML: no root element", field="xml") from None
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    qname = etree.QName(root)
    child_name = local_name(child) if event == "start" else None
    return qname.namespace or "", qname.localname, child_name


def iter_ends(data, namespace, names):
    """Yield each element whose local name is in ``names`` when its end tag is read.

    The caller must :func:`release` elements it no longer needs.
    """
    tags = [f"{{{namespace}}}{name}" if namespace else name for name in names]
    events = _iterparse(data, ("end",), tag=tags)
    try:
        for _event, element in events:
            yield element
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None


def release(element):
    """Free ``element``'s content and the already processed siblings before it."""
    element.clear()
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]


def local_name(element):
    """Return the local name of ``element`` (no namespace)."""
    return element.tag.rpartition("}")[2]


@lru_cache(maxsize=4096)
def _decimal(text):
    """Return ``Decimal(text)``; cached, so that equal amounts share one object."""
    return Decimal(text)


@lru_cache(maxsize=4096)
def _date(text):
    """Return ``date.fromisoformat(text)``; cached, so that equal dates share one object."""
    return date.fromisoformat(text)


def parse_decimal(text, field):
    """Return ``text`` as a Decimal, or None when empty; SepaParseError if malformed."""
    if text is None:
        return None
    try:
        value = _decimal(text.strip())
    except InvalidOperation:
        raise SepaParseError(f"{field}: not an amount: {text!r}", field=field, value=text) from None
    if not value.is_finite():
        raise SepaParseError(f"{field}: not an amount: {text!r}", field=field, value=text)
    return value


def parse_int(text, field):
    """Return ``text`` as an int, or None when empty; SepaParseError if malformed."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise SepaParseError(f"{field}: not a number: {text!r}", field=field, value=text) from None


def parse_date(text, field):
    """Return the date part of an ISO date or date-time ``text``, or None when empty."""
    if text is None:
        return None
    try:
        return _date(text.strip()[:10])
    except ValueError:
        raise SepaParseError(f"{field}: not a date: {text!r}", field=field, value=text) from None


class Xml:
    """Namespace-aware lookups by ISO local-name paths for one message.

    For the few values read once per element; :class:`Fields` reads many values at once.
    """

    def __init__(self, namespace):
        self.namespace = namespace
        self._paths = {}

    def path(self, local_path):
        """Return ``"A/B"`` as a qualified ElementPath (cached)."""
        qualified = self._paths.get(local_path)
        if qualified is None:
            prefix = f"{{{self.namespace}}}" if self.namespace else ""
            qualified = "/".join(prefix + name for name in local_path.split("/"))
            self._paths[local_path] = qualified
        return qualified

    def find(self, element, local_path):
        """Return the first element at ``local_path`` below ``element``, or None."""
        if element is None:
            return None
        return element.find(self.path(local_path))

    def findall(self, element, local_path):
        """Return every element at ``local_path`` below ``element``."""
        if element is None:
            return []
        return element.findall(self.path(local_path))

    def text(self, element, local_path):
        """Return the stripped text at ``local_path``, or None when absent or blank."""
        if element is None:
            return None
        value = element.findtext(self.path(local_path))
        if value is None:
            return None
        return value.strip() or None

    def texts(self, element, local_path):
        """Return the non-blank stripped texts of every element at ``local_path``."""
        values = (node.text for node in self.findall(element, local_path))
        return [value.strip() for value in values if value and value.strip()]

    def amount(self, element, local_path):
        """Return the Decimal at ``local_path``, or None."""
        return parse_decimal(self.text(element, local_path), local_path)

    def code_or_proprietary(self, element, local_path):
        """Return ``(code, is_proprietary)`` of a ``Cd``/``Prtry`` choice, or ``(None, False)``."""
        node = self.find(element, local_path)
        if node is None:
            return None, False
        code = self.text(node, "Cd")
        if code is not None:
            return code, False
        proprietary = self.text(node, "Prtry")
        return proprietary, proprietary is not None


class Fields:
    """Read many values below an element with ONE compiled XPath (fast on large files).

    ``paths`` maps a name to an ISO local-name path below the element: ``"Refs/EndToEndId"``,
    ``"Amt/@Ccy"``, alternatives ``"Dbtr/Nm|Dbtr/Pty/Nm"`` (the first in document order),
    or ``"#RtrInf"`` for the number of such elements. A path to an element with children
    gives its whole text (``"BookgDt"`` reads ``BookgDt/Dt`` or ``BookgDt/DtTm``).
    :meth:`read` returns ``{name: stripped text or None}`` (counts as int); the values of
    the ``shared`` names (codes, currencies) are one object per distinct value.
    """

    _SEPARATOR = "\ue000"
    _PREFIX = "d"

    def __init__(self, namespace, paths, shared=()):
        self.names = tuple(paths)
        self._shared_names = frozenset(shared)
        self._shared = {}
        self._namespaces = {self._PREFIX: namespace} if namespace else None
        self._prefix = f"{self._PREFIX}:" if namespace else ""
        self._parts = [self._xpath_part(path) for path in paths.values()]
        self._is_count = tuple(path.startswith("#") for path in paths.values())
        joined = f", '{self._SEPARATOR}', ".join(self._parts)
        self._all = etree.XPath(
            f"concat({joined}, '')", namespaces=self._namespaces, smart_strings=False
        )
        self._single = None

    def _qualify(self, local_path):
        """Return ``A/B/@c`` with the namespace prefix on every element step."""
        steps = local_path.strip().split("/")
        return "/".join(step if step.startswith("@") else self._prefix + step for step in steps)

    def _xpath_part(self, path):
        """Return the XPath expression of one path."""
        if path.startswith("#"):
            return f"count({self._qualify(path[1:])})"
        alternatives = " | ".join(self._qualify(part) for part in path.split("|"))
        return f"string({alternatives})"

    def read(self, element):
        """Return the values below ``element`` as a dict."""
        values = self._all(element).split(self._SEPARATOR)
        if len(values) != len(self.names):  # a value contains the separator itself
            values = self._read_one_by_one(element)
        result = {}
        for name, is_count, value in zip(self.names, self._is_count, values, strict=True):
            if is_count:
                result[name] = int(float(value))
            else:
                result[name] = value.strip() or None
        for name in self._shared_names:
            value = result[name]
            if value is not None:
                result[name] = self._shared.setdefault(value, value)
        return result

    def _read_one_by_one(self, element):
        """Slow path: evaluate each expression separately."""
        if self._single is None:
            self._single = [
                etree.XPath(part, namespaces=self._namespaces, smart_strings=False)
                for part in self._parts
            ]
        return [str(xpath(element)) for xpath in self._single]
