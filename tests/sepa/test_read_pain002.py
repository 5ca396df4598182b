"""pain.002 reader on hand-written fixtures (001.03, 001.10 and the .ch.02 variant)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sepa.readers import read_message

FIXTURES = Path(__file__).parent / "fixtures"


def read(name):
    """Read one fixture file."""
    return read_message((FIXTURES / name).read_bytes())


def rows(result):
    """Return ``(kind, level, status, pmt_inf_id, end_to_end_id, reason_code)`` per record."""
    return [
        (tx.kind, tx.level, tx.status, tx.pmt_inf_id, tx.end_to_end_id, tx.reason_code)
        for tx in result.transactions
    ]


def test_v03_transaction_and_pmtinf_rejects():
    result = read("pain002_001_03_mixed.xml")
    assert result.message == "pain.002.001.03"
    assert (result.original_msg_id, result.original_msg_name) == ("B2024-09", "pain.008.001.02")
    assert (result.group_status, result.group_reason_code) == ("PART", None)
    assert rows(result) == [
        ("reject", "tx", "RJCT", "B2024-09-FRST", "B2024-09-0001-0001", "AC04"),
        ("other", "tx", "ACCP", "B2024-09-FRST", "B2024-09-0001-0002", None),
        ("reject", "pmtinf", "RJCT", "B2024-09-RCUR", None, "FF01"),
    ]
    assert [tx.kind for tx in result.stornos] == ["reject", "reject"]


def test_v03_transaction_details_from_original_reference():
    tx = read("pain002_001_03_mixed.xml").transactions[0]
    assert tx.msg_id == "B2024-09"
    assert tx.instr_id == "B2024-09-0001-0001"
    assert tx.mandate_id == "MND-0301"
    assert (tx.amount, tx.currency) == (Decimal("40.00"), "EUR")
    assert tx.collection_date == date(2024, 9, 5)
    assert tx.seq_tp == "FRST"
    assert tx.debtor_name == "Sanne Visser"
    assert tx.debtor_iban == "NL20INGB0001234567"
    assert tx.additional_info == "Account closed"


def test_v03_payment_info_statuses():
    infos = read("pain002_001_03_mixed.xml").payment_infos
    assert [(i.pmt_inf_id, i.status, i.reason_code, i.nb_of_tx_statuses) for i in infos] == [
        ("B2024-09-FRST", "PART", None, 2),
        ("B2024-09-RCUR", "RJCT", "FF01", 0),
    ]


def test_pmtinf_record_applies_to_all_its_transactions():
    item = read("pain002_001_03_mixed.xml").transactions[2]
    assert item.applies_to == "all transactions of payment information B2024-09-RCUR"
    assert item.amount is None
    assert item.msg_id == "B2024-09"


def test_group_reject_without_details_is_one_group_record():
    result = read("pain002_001_10_group_reject.xml")
    assert result.message == "pain.002.001.10"
    assert (result.group_status, result.group_reason_code) == ("RJCT", "AM10")
    assert result.payment_infos == ()
    (item,) = result.transactions
    assert (item.kind, item.level, item.status, item.reason_code) == (
        "reject",
        "group",
        "RJCT",
        "AM10",
    )
    assert item.msg_id == "B2024-10"
    assert item.additional_info == "Control sum does not match"
    assert item.applies_to == "all transactions of original message B2024-10"


def test_rejected_group_status_is_inherited_by_its_blocks():
    result = read("pain002_001_03_group_inherit.xml")
    assert rows(result) == [
        ("reject", "tx", "RJCT", "B2024-09-B-FRST", "B2024-09-B-0001", "DT01"),
        ("reject", "pmtinf", "RJCT", "B2024-09-B-RCUR", None, "DT01"),
    ]
    assert [info.status for info in result.payment_infos] == [None, None]


def test_v10_proprietary_reason_and_party_structure():
    result = read("pain002_001_10_tx.xml")
    first, second = result.transactions
    assert (first.reason_code, first.reason_proprietary) == ("BANK-42", True)
    assert first.debtor_name == "Ørjan Åsberg"
    assert first.amount == Decimal("12.3")
    assert first.to_json_dict()["amount"] == "12.30"
    assert first.seq_tp == "RCUR"
    # no TxSts: inherits the PmtInf status, keeps its own reason
    assert (second.status, second.kind, second.reason_code) == ("RJCT", "reject", "MD07")


def test_swiss_variant_namespace():
    result = read("pain002_001_03_ch02.xml")
    assert result.message == "pain.002.001.03.ch.02"
    assert result.original_msg_name == "pain.008.001.02.ch.03"
    assert rows(result) == [
        ("reject", "tx", "RJCT", "CHDD-2024-11-1", "CHDD-2024-11-1-0004", "MD01"),
    ]
    assert result.transactions[0].currency == "CHF"


def test_json_has_pain002_header_keys():
    data = read("pain002_001_03_mixed.xml").to_json_dict()
    assert data["message"] == "pain.002.001.03"
    assert data["group_status"] == "PART"
    assert data["payment_infos"][1] == {
        "pmt_inf_id": "B2024-09-RCUR",
        "status": "RJCT",
        "reason_code": "FF01",
        "additional_info": "Invalid file format",
        "nb_of_tx_statuses": 0,
    }
    assert data["transactions"][2]["level"] == "pmtinf"


@pytest.mark.parametrize("version", range(3, 11))
def test_every_version_reads_a_transaction_reject(version):
    message = f"pain.002.001.{version:02d}"
    data = f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}"><CstmrPmtStsRpt>
      <GrpHdr><MsgId>S</MsgId></GrpHdr>
      <OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.008</OrgnlMsgNmId>
      </OrgnlGrpInfAndSts>
      <OrgnlPmtInfAndSts><OrgnlPmtInfId>P</OrgnlPmtInfId>
        <TxInfAndSts><OrgnlEndToEndId>E</OrgnlEndToEndId><TxSts>RJCT</TxSts>
          <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts>
      </OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>""".encode()
    result = read_message(data)
    assert result.message == message
    assert rows(result) == [("reject", "tx", "RJCT", "P", "E", "AM04")]
