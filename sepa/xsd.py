"""XSD validation with the official schemas shipped by the ``sepaxml`` package.

The schema files are read from the installed ``sepaxml`` package (its ``schemas/``
folder) without importing it. Each schema is compiled once per process.

:func:`validate` streams: libxml2 checks the document while ``iterparse`` reads it
and finished transactions are dropped, so a 100,000-debit file never becomes one tree.
"""

import functools
import importlib.util
import io
import os
import re

from lxml import etree

from .errors import SepaValidationError

_SCHEMA_NAME = re.compile(r"(pain|camt)\.\d{3}\.\d{3}\.\d{2}\.xsd")

#: Elements dropped once checked while validating, to keep memory flat.
_STREAMED_TAGS = ("DrctDbtTxInf", "CdtTrfTxInf", "Ntry", "TxInfAndSts")

#: Finished elements are dropped in groups of this many (cheaper than one by one).
_PURGE_EVERY = 1000


@functools.cache
def _schema_dir():
    """Return the ``schemas`` folder of the installed sepaxml package, or None."""
    try:
        spec = importlib.util.find_spec("sepaxml")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = os.path.join(location, "schemas")
        if os.path.isdir(folder):
            return folder
    return None


def xsd_path(version):
    """Return the path of the XSD of ``version`` (e.g. ``"pain.008.001.02"``), or None."""
    folder = _schema_dir()
    if folder is None or not isinstance(version, str):
        return None
    path = os.path.join(folder, f"{version}.xsd")
    if not _SCHEMA_NAME.fullmatch(os.path.basename(path)) or not os.path.isfile(path):
        return None
    return path


def available_versions(prefix="pain.008."):
    """Return the sorted message versions whose XSD ships, e.g. ``("pain.008.001.02", ...)``."""
    folder = _schema_dir()
    if folder is None:
        return ()
    names = (n[:-4] for n in os.listdir(folder) if _SCHEMA_NAME.fullmatch(n))
    return tuple(sorted(n for n in names if n.startswith(prefix)))


@functools.cache
def get_schema(version):
    """Return the compiled :class:`lxml.etree.XMLSchema` of ``version`` (cached).

    Raises :class:`SepaValidationError` when that XSD does not ship.
    """
    path = xsd_path(version)
    if path is None:
        raise SepaValidationError(
            f"no XSD available for {version!r} (shipped: {', '.join(available_versions())})",
            field="version", value=version,
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(path, parser))


def namespace_of(version):
    """Return the ISO 20022 namespace of a message version."""
    return f"urn:iso:std:iso:20022:tech:xsd:{version}"


def validate(data, version):
    """Validate the XML ``data`` (bytes) against the XSD of ``version``, streaming.

    Raises :class:`SepaValidationError` whose message names the first offending element
    and its line, e.g. ``"XSD pain.008.001.02, line 12: Element 'MsgId': [facet
    'maxLength'] ..."``.
    """
    schema = get_schema(version)
    ns = namespace_of(version)
    tags = [f"{{{ns}}}{tag}" for tag in _STREAMED_TAGS]
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    events = etree.iterparse(
        source, events=("end",), tag=tags, schema=schema, resolve_entities=False,
        no_network=True, load_dtd=False, huge_tree=False,
    )
    try:
        for count, (_event, element) in enumerate(events, start=1):
            if count % _PURGE_EVERY == 0:
                parent = element.getparent()
                del parent[:parent.index(element) + 1]
    except etree.XMLSyntaxError as exc:
        line, message = _locate(data, schema, exc)
        raise SepaValidationError(
            f"XSD {version}, line {line}: {message}", field=_element_of(exc), value=version
        ) from exc


def first_error(data, version):
    """Validate one small complete document (bytes) as a tree; return its first error.

    Returns None when valid, else ``"line N: message"``. Faster than :func:`validate` on
    documents of a few megabytes; used by the writer on windows of a message.
    """
    schema = get_schema(version)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"line {exc.lineno or '?'}: {_strip_ns(exc.msg or str(exc))}"
    if schema.validate(tree):
        return None
    first = schema.error_log[0]
    return f"line {first.line}: {_strip_ns(first.message)}"


def validate_tree(tree, version):
    """Return the list of XSD errors of a parsed document (empty when valid)."""
    schema = get_schema(version)
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {_strip_ns(e.message)}" for e in schema.error_log]


#: Largest document re-read as a tree to find the line of an XSD error.
_LOCATE_MAX_BYTES = 20 * 1024 * 1024


def _locate(data, schema, exc):
    """Return (line, message) of the first error (streaming validation has no line).

    A well-formed document small enough is validated again as a tree, whose error log
    carries line numbers; otherwise the line of a syntax error, or ``"?"``.
    """
    message = _strip_ns(exc.msg or str(exc))
    line = exc.lineno or (exc.position[0] if exc.position else 0)
    if line:
        return line, re.sub(r", line \d+$", "", message)
    if isinstance(data, bytes | bytearray) and len(data) <= _LOCATE_MAX_BYTES:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            tree = etree.fromstring(bytes(data), parser)
        except etree.XMLSyntaxError:
            return "?", message
        if not schema.validate(tree) and schema.error_log:
            first = schema.error_log[0]
            return first.line, _strip_ns(first.message)
    return "?", message


_NAMESPACE = re.compile(r"\{(?:urn|https?):[^}]*\}")


def _strip_ns(message):
    """Drop ``{namespace}`` prefixes from element names in an lxml message."""
    return _NAMESPACE.sub("", message)


def _element_of(exc):
    """Return the element named in an lxml schema error, or None."""
    match = re.search(r"Element '(?:\{[^}]*\})?([^']+)'", exc.msg or str(exc))
    return match.group(1) if match else None
