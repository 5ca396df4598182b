"""pain.008 checker: :func:`inspect_pain008` reads any pain.008 message (also the German
``pain.008.002.02`` and ``pain.008.003.02`` variants) in one streaming pass and reports
what it declares, what its transactions add up to and whether it is valid against the
XSD.
"""

import io
import re
from decimal import Decimal, InvalidOperation

from lxml import etree

from . import xsd
from .amounts import format_amount
from .errors import SepaParseError, SepaValidationError

#: Largest input :func:`inspect_pain008` accepts (bytes).
MAX_INSPECT_BYTES = 200 * 1024 * 1024

_PAIN008_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(pain\.008\.\d{3}\.\d{2})")


def inspect_pain008(data, transactions=False, max_bytes=MAX_INSPECT_BYTES):
    """Read a pain.008 message and report what it declares and whether that holds.

    Returns a dict: ``message`` (e.g. ``"pain.008.001.02"``), ``msg_id``, ``xsd_valid``
    (True/False, or None when the version's XSD does not ship), ``errors`` (XSD error
    and count/sum mismatches), ``valid``, ``nb_of_txs`` and ``ctrl_sum`` (declared in
    GrpHdr; ``ctrl_sum`` is a 2-decimal string or None when absent), ``computed_nb_of_txs``,
    ``computed_sum`` and ``payment_infos`` (``pmt_inf_id``, ``seq_tp``,
    ``local_instrument``, ``reqd_colltn_dt``, ``nb_of_txs``, ``ctrl_sum``,
    ``creditor_scheme_id``, ``computed_nb_of_txs``, ``computed_sum`` and, with
    ``transactions``, the ``transactions`` list).

    Raises :class:`SepaParseError` for input that is not XML, unsafe (DTD, entities),
    larger than ``max_bytes`` or not a pain.008 message.
    """
    if len(data) > max_bytes:
        raise SepaParseError(f"input is {len(data)} bytes, more than the limit of {max_bytes}",
                             field="size", value=len(data))
    report = _Reader(transactions).read(data)
    _check_totals(report)
    report["xsd_valid"] = _xsd_status(data, report)
    report["valid"] = not report["errors"] and report["xsd_valid"] is not False
    return report


class _Reader:
    """Streaming reader of a pain.008 message (one pass, transactions dropped as read)."""

    def __init__(self, transactions):
        self.transactions = transactions
        self.report = None
        self.ns = None
        self.block = None

    def read(self, data):
        """Return the report dict of ``data`` (without XSD status)."""
        self._start_document(_first_element(data))
        tags = [self.ns + tag for tag in ("GrpHdr", "PmtInf", "DrctDbtTxInf")]
        try:
            for _event, element in etree.iterparse(io.BytesIO(data), tag=tags, **_SAFE):
                self._handle(element)
        except etree.XMLSyntaxError as exc:
            raise SepaParseError(f"not well-formed XML: {exc}", field="xml") from exc
        return self.report

    def _handle(self, element):
        """Dispatch the end of a GrpHdr, PmtInf or DrctDbtTxInf."""
        tag = element.tag
        if tag == self.ns + "DrctDbtTxInf":
            self._transaction(element)
        elif tag == self.ns + "PmtInf":
            self._payment_info(element)
        else:
            self._group_header(element)

    def _start_document(self, root):
        """Check the root element and set up the report."""
        _refuse_dtd(root)
        match = _PAIN008_NS.fullmatch(etree.QName(root).namespace or "")
        if etree.QName(root).localname != "Document" or not match:
            raise SepaParseError(
                f"not a pain.008 message (root {root.tag!r})", field="message", value=root.tag
            )
        self.ns = f"{{{match.group(0)}}}"
        self.report = {
            "message": match.group(1), "msg_id": None, "xsd_valid": None, "errors": [],
            "nb_of_txs": None, "ctrl_sum": None, "computed_nb_of_txs": 0,
            "computed_sum": Decimal(0), "payment_infos": [],
        }

    def _text(self, element, path):
        """Text of the first element at ``path`` (tags without namespace), or None."""
        found = element.find("/".join(self.ns + part for part in path.split("/")))
        return found.text.strip() if found is not None and found.text else None

    def _group_header(self, element):
        """Read MsgId, NbOfTxs and CtrlSum of the group header."""
        self.report["msg_id"] = self._text(element, "MsgId")
        self.report["nb_of_txs"] = _int_or_none(self._text(element, "NbOfTxs"))
        self.report["ctrl_sum"] = _amount_text(self._text(element, "CtrlSum"))

    def _transaction(self, element):
        """Add one transaction to the current block and drop it from memory."""
        if self.block is None:
            self.block = _new_block()
        block = self.block
        if "pmt_inf_id" not in block:
            self._block_header(element.getparent())
        amount_text = self._text(element, "InstdAmt")
        amount = _decimal_or_none(amount_text)
        block["computed_nb_of_txs"] += 1
        if amount is None:
            self.report["errors"].append(
                f"transaction {block['computed_nb_of_txs']} of PmtInf "
                f"{block['pmt_inf_id']!r}: InstdAmt {amount_text!r} is not a number")
        else:
            block["computed_sum"] += amount
        if self.transactions:
            block["transactions"].append(self._transaction_values(element, amount))
        _drop(element)

    def _transaction_values(self, element, amount):
        """The values of one transaction reported with ``transactions=True``."""
        instd = element.find(f"{self.ns}InstdAmt")
        return {
            "end_to_end_id": self._text(element, "PmtId/EndToEndId"),
            "amount": format_amount(amount) if amount is not None else None,
            "currency": instd.get("Ccy") if instd is not None else None,
            "mandate_id": self._text(element, "DrctDbtTx/MndtRltdInf/MndtId"),
            "dt_of_sgntr": self._text(element, "DrctDbtTx/MndtRltdInf/DtOfSgntr"),
            "amdmnt_ind": self._text(element, "DrctDbtTx/MndtRltdInf/AmdmntInd"),
            "debtor_name": self._text(element, "Dbtr/Nm"),
            "debtor_iban": self._text(element, "DbtrAcct/Id/IBAN"),
        }

    def _block_header(self, element):
        """Read the PmtInf header elements (before its first transaction is dropped)."""
        self.block.update({
            "pmt_inf_id": self._text(element, "PmtInfId"),
            "seq_tp": self._text(element, "PmtTpInf/SeqTp"),
            "local_instrument": self._text(element, "PmtTpInf/LclInstrm/Cd"),
            "reqd_colltn_dt": _date_text(self._text(element, "ReqdColltnDt")),
            "nb_of_txs": _int_or_none(self._text(element, "NbOfTxs")),
            "ctrl_sum": _amount_text(self._text(element, "CtrlSum")),
            "creditor_scheme_id": self._text(element, "CdtrSchmeId/Id/PrvtId/Othr/Id"),
        })

    def _payment_info(self, element):
        """Finish the current PmtInf entry of the report."""
        if self.block is None:
            self.block = _new_block()
        block = self.block
        if "pmt_inf_id" not in block:
            self._block_header(element)
        entry = {key: block[key] for key in _BLOCK_KEYS}
        entry["computed_sum"] = format_amount(block["computed_sum"])
        if self.transactions:
            entry["transactions"] = block["transactions"]
        self.report["payment_infos"].append(entry)
        self.report["computed_nb_of_txs"] += block["computed_nb_of_txs"]
        self.report["computed_sum"] += block["computed_sum"]
        self.block = None
        _drop(element)


_BLOCK_KEYS = (
    "pmt_inf_id", "seq_tp", "local_instrument", "reqd_colltn_dt", "nb_of_txs", "ctrl_sum",
    "creditor_scheme_id", "computed_nb_of_txs", "computed_sum",
)


#: Parser options for untrusted input: no entities, DTD or network, libxml2's size limits.
_SAFE = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
             remove_comments=True, remove_pis=True)


def _first_element(data):
    """Return the root element of ``data`` (only the start of the document is parsed)."""
    try:
        for _event, element in etree.iterparse(io.BytesIO(data), events=("start",), **_SAFE):
            return element
    except etree.XMLSyntaxError as exc:
        raise SepaParseError(f"not well-formed XML: {exc}", field="xml") from exc
    raise SepaParseError("empty document", field="xml")


def _new_block():
    """The running state of one PmtInf while it is read."""
    return {"computed_nb_of_txs": 0, "computed_sum": Decimal(0), "transactions": []}


def _refuse_dtd(root):
    """Refuse a document with a DOCTYPE (ISO 20022 messages never have one)."""
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SepaParseError("a DOCTYPE/DTD is not allowed in a pain.008 message",
                             field="xml", value=docinfo.doctype)


def _drop(element):
    """Free a finished element and its already-read previous siblings."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _int_or_none(text):
    """Integer value of a NbOfTxs text, or None."""
    return int(text) if text is not None and text.isdigit() else None


def _decimal_or_none(text):
    """Decimal value of an amount text, or None when absent or not a number."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _amount_text(text):
    """A declared amount as a 2-decimal string (None when absent; as is when odd)."""
    value = _decimal_or_none(text)
    if value is None:
        return text
    if value == value.quantize(Decimal("0.01")):
        return format_amount(value)
    return text


def _date_text(text):
    """An ISO date text (some files add a time zone: keep the date part)."""
    return text[:10] if text else text


def _check_totals(report):
    """Compare the declared counts/sums with the transactions; add errors; format sums."""
    errors = report["errors"]
    for block in report["payment_infos"]:
        where = f"PmtInf {block['pmt_inf_id']!r}"
        _compare(errors, f"{where} NbOfTxs", block["nb_of_txs"], block["computed_nb_of_txs"])
        _compare(errors, f"{where} CtrlSum", block["ctrl_sum"], block["computed_sum"])
    computed_sum = format_amount(report["computed_sum"])
    report["computed_sum"] = computed_sum
    _compare(errors, "GrpHdr NbOfTxs", report["nb_of_txs"], report["computed_nb_of_txs"])
    _compare(errors, "GrpHdr CtrlSum", report["ctrl_sum"], computed_sum)
    if not report["payment_infos"]:
        errors.append("the message has no PmtInf")


def _compare(errors, label, declared, computed):
    """Add an error when a declared value differs from the computed one."""
    if declared is not None and declared != computed:
        errors.append(f"{label} declares {declared} but the transactions give {computed}")


def _xsd_status(data, report):
    """Validate against the XSD when it ships; return True/False/None, add the error."""
    version = report["message"]
    if xsd.xsd_path(version) is None:
        return None
    try:
        xsd.validate(data, version)
    except SepaValidationError as exc:
        report["errors"].insert(0, str(exc))
        return False
    return True
