"""pain.002 (customer payment status report) handler, 001.03 to 001.10 and bank variants.

Statuses are read at three levels: the original group (``OrgnlGrpInfAndSts/GrpSts``), each
original payment information (``OrgnlPmtInfAndSts/PmtInfSts``) and each transaction
(``TxInfAndSts/TxSts``). A level without its own status inherits the one above.

Items: one per ``TxInfAndSts`` (level ``tx``; kind ``reject`` when its status is RJCT,
``other`` for any other status, e.g. ACCP, PDNG or verification-of-payee codes); one per
rejected payment information without transaction details (level ``pmtinf``), and one for a
rejected group without any payment information details (level ``group``): those mean every
transaction of that payment information / original message is rejected.
"""

from dataclasses import dataclass

from .base import Fields, Xml, iter_ends, parse_date, parse_decimal, release
from .records import PaymentInfoStatus, ReadResult, RTransaction

REJECTED = "RJCT"

#: Values read from each ``TxInfAndSts``.
TX_FIELDS = {
    "status": "TxSts",
    "reasons": "#StsRsnInf",
    "end_to_end_id": "OrgnlEndToEndId",
    "instr_id": "OrgnlInstrId",
    "acct_svcr_ref": "AcctSvcrRef",
    "mandate_id": "OrgnlTxRef/MndtRltdInf/MndtId",
    "amount": "OrgnlTxRef/Amt/InstdAmt",
    "currency": "OrgnlTxRef/Amt/InstdAmt/@Ccy",
    "value_date": "OrgnlTxRef/IntrBkSttlmDt",
    "collection_date": "OrgnlTxRef/ReqdColltnDt",
    "seq_tp": "OrgnlTxRef/PmtTpInf/SeqTp",
    "debtor_name": "OrgnlTxRef/Dbtr/Nm|OrgnlTxRef/Dbtr/Pty/Nm",
    "debtor_iban": "OrgnlTxRef/DbtrAcct/Id/IBAN",
    "charges": "#ChrgsInf",
}


@dataclass
class _Status:
    """A status with its first reason code and joined additional information."""

    status: str | None = None
    reason_code: str | None = None
    reason_proprietary: bool = False
    additional_info: str | None = None


@dataclass
class _PmtInf:
    """The header of one ``OrgnlPmtInfAndSts`` block and its transaction count."""

    element: object
    pmt_inf_id: str | None
    own: _Status
    tx_count: int = 0


class Pain002Reader:
    """Streaming reader of one pain.002 message."""

    def __init__(self, message, namespace):
        self.message = message
        self.xml = Xml(namespace)
        self.tx_fields = Fields(namespace, TX_FIELDS)
        self.records = []
        self.payment_infos = []
        self.report_msg_id = None
        self.original_msg_id = None
        self.original_msg_name = None
        self.group = _Status()
        self._pmtinf = None

    def read(self, data):
        """Read ``data`` and return a ReadResult."""
        names = ("GrpHdr", "OrgnlGrpInfAndSts", "TxInfAndSts", "OrgnlPmtInfAndSts")
        handlers = {
            "GrpHdr": self._on_header,
            "OrgnlGrpInfAndSts": self._on_group,
            "TxInfAndSts": self._on_tx,
            "OrgnlPmtInfAndSts": self._on_pmtinf,
        }
        for element in iter_ends(data, self.xml.namespace, names):
            handlers[element.tag.rpartition("}")[2]](element)
            release(element)
        if self.group.status == REJECTED and not self.payment_infos:
            self.records.insert(0, self._group_record())
        return ReadResult(
            self.message,
            self.records,
            report_msg_id=self.report_msg_id,
            original_msg_id=self.original_msg_id,
            original_msg_name=self.original_msg_name,
            group_status=self.group.status,
            group_reason_code=self.group.reason_code,
            payment_infos=tuple(self.payment_infos),
        )

    # -- streaming callbacks -------------------------------------------------------------

    def _on_header(self, element):
        """Read the report's own message id."""
        self.report_msg_id = self.xml.text(element, "MsgId")

    def _on_group(self, element):
        """Read the original group references and the group status."""
        x = self.xml
        self.original_msg_id = x.text(element, "OrgnlMsgId")
        self.original_msg_name = x.text(element, "OrgnlMsgNmId")
        self.group = self._read_status(element, "GrpSts")

    def _on_tx(self, element):
        """Turn one ``TxInfAndSts`` into a record."""
        pmtinf = self._current_pmtinf(element.getparent())
        pmtinf.tx_count += 1
        self.records.append(self._tx_record(element, pmtinf))

    def _on_pmtinf(self, element):
        """Finish one ``OrgnlPmtInfAndSts`` block."""
        pmtinf = self._current_pmtinf(element)
        own = pmtinf.own
        self.payment_infos.append(
            PaymentInfoStatus(
                pmt_inf_id=pmtinf.pmt_inf_id,
                status=own.status,
                reason_code=own.reason_code,
                additional_info=own.additional_info,
                nb_of_tx_statuses=pmtinf.tx_count,
            )
        )
        effective = self._inherit(own, self.group)
        if effective.status == REJECTED and pmtinf.tx_count == 0:
            self.records.append(self._pmtinf_record(pmtinf, effective))
        self._pmtinf = None

    def _current_pmtinf(self, element):
        """Return the header of payment information ``element``, reading it on first use."""
        if self._pmtinf is None or self._pmtinf.element is not element:
            self._pmtinf = _PmtInf(
                element=element,
                pmt_inf_id=self.xml.text(element, "OrgnlPmtInfId"),
                own=self._read_status(element, "PmtInfSts"),
            )
        return self._pmtinf

    # -- reading -------------------------------------------------------------------------

    def _read_status(self, element, status_name):
        """Read a status element and its ``StsRsnInf`` blocks."""
        x = self.xml
        status = _Status(status=x.text(element, status_name))
        texts = []
        for info in x.findall(element, "StsRsnInf"):
            code, proprietary = x.code_or_proprietary(info, "Rsn")
            if status.reason_code is None and code is not None:
                status.reason_code, status.reason_proprietary = code, proprietary
            texts.extend(x.texts(info, "AddtlInf"))
        status.additional_info = " ".join(texts) or None
        return status

    @staticmethod
    def _inherit(own, parent):
        """Return ``own``; without a status of its own, the parent's status (and reason)."""
        if own.status is not None:
            return own
        if own.reason_code is None and own.additional_info is None:
            return parent
        return _Status(parent.status, own.reason_code, own.reason_proprietary, own.additional_info)

    def _tx_record(self, element, pmtinf):
        """Return the record of one ``TxInfAndSts``."""
        values = self.tx_fields.read(element)
        own = _Status(status=values["status"])
        if values["reasons"]:
            own = self._read_status(element, "TxSts")
        status = self._inherit(own, self._inherit(pmtinf.own, self.group))
        return RTransaction(
            kind="reject" if status.status == REJECTED else "other",
            level="tx",
            status=status.status,
            end_to_end_id=values["end_to_end_id"],
            msg_id=self.original_msg_id,
            pmt_inf_id=pmtinf.pmt_inf_id,
            instr_id=values["instr_id"],
            mandate_id=values["mandate_id"],
            amount=parse_decimal(values["amount"], TX_FIELDS["amount"]),
            currency=values["currency"] if values["amount"] is not None else None,
            value_date=parse_date(values["value_date"], TX_FIELDS["value_date"]),
            collection_date=parse_date(values["collection_date"], TX_FIELDS["collection_date"]),
            seq_tp=values["seq_tp"],
            reason_code=status.reason_code,
            reason_proprietary=status.reason_proprietary,
            additional_info=status.additional_info,
            debtor_name=values["debtor_name"],
            debtor_iban=values["debtor_iban"],
            charges=self._charges(element) if values["charges"] else None,
            tx_acct_svcr_ref=values["acct_svcr_ref"],
        )

    def _charges(self, element):
        """Return the sum of ``ChrgsInf/Amt`` of a transaction, or None."""
        x = self.xml
        amounts = [x.amount(node, "Amt") for node in x.findall(element, "ChrgsInf")]
        amounts = [value for value in amounts if value is not None]
        return sum(amounts) if amounts else None

    def _pmtinf_record(self, pmtinf, status):
        """Return the record meaning every transaction of ``pmtinf`` is rejected."""
        return RTransaction(
            kind="reject",
            level="pmtinf",
            status=status.status,
            msg_id=self.original_msg_id,
            pmt_inf_id=pmtinf.pmt_inf_id,
            reason_code=status.reason_code,
            reason_proprietary=status.reason_proprietary,
            additional_info=status.additional_info,
            applies_to=f"all transactions of payment information {pmtinf.pmt_inf_id}",
        )

    def _group_record(self):
        """Return the record meaning every transaction of the original message is rejected."""
        group = self.group
        return RTransaction(
            kind="reject",
            level="group",
            status=group.status,
            msg_id=self.original_msg_id,
            reason_code=group.reason_code,
            reason_proprietary=group.reason_proprietary,
            additional_info=group.additional_info,
            applies_to=f"all transactions of original message {self.original_msg_id}",
        )


def read_pain002(message, namespace, data):
    """Read a pain.002 message (bytes) and return a ReadResult."""
    return Pain002Reader(message, namespace).read(data)
