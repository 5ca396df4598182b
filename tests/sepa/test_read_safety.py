"""Unsafe, broken, oversized and unknown input: clear SepaParseError, exit code 2."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sepa.cli_read import run
from sepa.errors import SepaError, SepaParseError
from sepa.readers import message_name, read_message

ADDON_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"

MINIMAL_CAMT054 = f"""<?xml version="1.0"?>
<Document xmlns="{CAMT054}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M</MsgId></GrpHdr><Ntfctn><Id>N</Id></Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>"""

XXE_FILE = f"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="{CAMT054}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>&secret;</MsgId></GrpHdr>
</BkToCstmrDbtCdtNtfctn></Document>"""

XXE_HTTP = f"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY remote SYSTEM "http://127.0.0.1:9/evil.xml">]>
<Document xmlns="{CAMT054}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>&remote;</MsgId></GrpHdr>
</BkToCstmrDbtCdtNtfctn></Document>"""

XXE_PARAMETER = f"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/evil.dtd"> %dtd;]>
<Document xmlns="{CAMT054}"/>"""

EXTERNAL_DTD = f"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">
<Document xmlns="{CAMT054}"/>"""

PLAIN_DOCTYPE = f"""<?xml version="1.0"?>
<!DOCTYPE Document>
<Document xmlns="{CAMT054}"/>"""


def billion_laughs():
    """Return the classic exponential entity bomb (10^9 'lol's once expanded)."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return (
        f'<?xml version="1.0"?><!DOCTYPE Document [{"".join(entities)}]>'
        f'<Document xmlns="{CAMT054}"><BkToCstmrDbtCdtNtfctn>'
        f"<GrpHdr><MsgId>&lol9;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>"
    )


def document(namespace, child="BkToCstmrStmt"):
    """Return a minimal document with ``namespace`` as its root namespace."""
    return f'<Document xmlns="{namespace}"><{child}/></Document>'.encode()


@pytest.mark.parametrize(
    "text",
    [XXE_FILE, XXE_HTTP, XXE_PARAMETER, EXTERNAL_DTD, PLAIN_DOCTYPE, billion_laughs()],
    ids=["xxe-file", "xxe-http", "xxe-parameter-entity", "external-dtd", "doctype", "bomb"],
)
def test_any_doctype_is_refused_fast(text):
    started = time.monotonic()
    with pytest.raises(SepaParseError, match="DOCTYPE"):
        read_message(text.encode())
    assert time.monotonic() - started < 2


def test_xxe_never_leaks_file_content(tmp_path, capsys):
    path = tmp_path / "xxe.xml"
    path.write_text(XXE_FILE)
    assert run(str(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "root:" not in captured.err
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1


def test_size_limit():
    data = MINIMAL_CAMT054.encode()
    assert read_message(data, max_bytes=len(data)).message == "camt.054.001.02"
    with pytest.raises(SepaParseError, match="more than the limit") as info:
        read_message(data, max_bytes=len(data) - 1)
    assert info.value.field == "size"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "empty input"),
        (b"not xml at all", "broken XML"),
        (MINIMAL_CAMT054.encode()[:-20], "broken XML"),
        (MINIMAL_CAMT054.replace(">M<", ">&undefined;<").encode(), "broken XML"),
        (MINIMAL_CAMT054.replace("<Id>N</Id>", "<Id>N</Id></Oops>").encode(), "broken XML"),
    ],
    ids=["empty", "not-xml", "truncated", "undefined-entity", "mismatched-tag"],
)
def test_broken_input(data, pattern):
    with pytest.raises(SepaParseError, match=pattern):
        read_message(data)


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\t\r\n "], ids=["empty", "spaces", "blank"])
def test_empty_input_is_told_apart(data):
    with pytest.raises(SepaParseError, match="empty input") as info:
        read_message(data)
    assert (info.value.field, info.value.value) == ("size", 0)


FULL_CAMT054 = (ADDON_ROOT / "tests/sepa/fixtures/camt054_001_02_returns.xml").read_bytes()


@pytest.mark.parametrize("cut", [0.02, 0.1, 0.5, 0.9, 0.999], ids=lambda cut: f"at-{cut:.0%}")
def test_truncated_file_is_told_apart(cut):
    """A file cut off anywhere (in a tag, in a text, between elements) ends early."""
    data = FULL_CAMT054.rstrip()
    data = data[:max(1, int(len(data) * cut))]
    with pytest.raises(SepaParseError, match="ends before the message does") as info:
        read_message(data)
    assert info.value.field == "end"


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        MINIMAL_CAMT054.replace("<Id>N</Id>", "<Id>N</Id></Oops>").encode(),
        MINIMAL_CAMT054.encode() + b"<Extra/>",
        MINIMAL_CAMT054.replace(">M<", ">\xff<").encode("latin-1"),
    ],
    ids=["not-xml", "mismatched-tag", "after-the-end", "bad-encoding"],
)
def test_broken_file_is_not_called_truncated(data):
    with pytest.raises(SepaParseError, match="broken XML") as info:
        read_message(data)
    assert info.value.field == "xml"


@pytest.mark.parametrize(
    ("namespace", "pattern"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "unsupported message pain.001.001.03"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.008.001.02", "unsupported message pain.008.001.02"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.052.001.02", "unsupported message camt.052.001.02"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.10", "unsupported version camt.053.001.10"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.054.001.01", "unsupported version camt.054.001.01"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.002.001.02", "unsupported version pain.002.001.02"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.002.002.03", "unsupported version pain.002.002.03"),
        ("http://example.com/invoice", "unknown message: root namespace"),
        ("", "unknown message: root namespace ''"),
    ],
)
def test_unknown_messages_are_named(namespace, pattern):
    with pytest.raises(SepaParseError, match=pattern):
        read_message(document(namespace))


def test_message_name_accepts_variants():
    assert message_name("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08") == (
        "camt.053",
        "camt.053.001.08",
    )
    assert message_name("http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd") == (
        "pain.002",
        "pain.002.001.03.ch.02",
    )


def test_root_must_be_document():
    data = f'<Invoice xmlns="{CAMT054}"/>'.encode()
    with pytest.raises(SepaParseError, match="root element is 'Invoice'"):
        read_message(data)


def test_message_body_must_match_namespace():
    data = document(CAMT054, child="CstmrPmtStsRpt")
    with pytest.raises(SepaParseError, match="expected 'BkToCstmrDbtCdtNtfctn'"):
        read_message(data)


def test_malformed_amount_names_the_value():
    data = MINIMAL_CAMT054.replace(
        "<Id>N</Id>",
        "<Id>N</Id><Ntry><Amt Ccy='EUR'>12,50</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
    ).encode()
    with pytest.raises(SepaParseError, match="'12,50'"):
        read_message(data)


def test_text_input_is_a_type_error():
    with pytest.raises(TypeError):
        read_message(MINIMAL_CAMT054)


def test_errors_are_sepa_errors():
    assert issubclass(SepaParseError, SepaError)


def many_returns(count):
    """Return a camt.054 with ``count`` return entries (memory / streaming check)."""
    entry = (
        "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E{n}</EndToEndId></Refs>"
        "<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>"
    )
    entries = "".join(entry.format(n=n) for n in range(count))
    return MINIMAL_CAMT054.replace("<Id>N</Id>", f"<Id>N</Id>{entries}").encode()


def test_many_entries_stream_in_order():
    result = read_message(many_returns(3000))
    assert len(result.transactions) == 3000
    assert result.transactions[-1].end_to_end_id == "E2999"
    assert {tx.kind for tx in result.transactions} == {"return"}


# -- command line --------------------------------------------------------------------------


def test_run_prints_one_json_object(capsys):
    assert run(str(FIXTURES / "camt054_001_02_returns.xml")) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["message"] == "camt.054.001.02"
    assert len(data["transactions"]) == 7
    assert captured.err == ""


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (XXE_FILE, "DOCTYPE"),
        (billion_laughs(), "DOCTYPE"),
        ("<Document", "broken XML"),
        (document("urn:iso:std:iso:20022:tech:xsd:pain.001.001.09").decode(), "pain.001"),
    ],
    ids=["xxe", "bomb", "broken", "unknown"],
)
def test_run_bad_input_exits_2(tmp_path, capsys, content, pattern):
    path = tmp_path / "input.xml"
    path.write_text(content)
    assert run(str(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert pattern in captured.err
    assert captured.err.count("\n") == 1


def test_run_missing_file(tmp_path, capsys):
    assert run(str(tmp_path / "nope.xml")) == 2
    assert "cannot read" in capsys.readouterr().err


def test_run_too_large(tmp_path, capsys):
    path = tmp_path / "big.xml"
    path.write_bytes(many_returns(10))
    assert run(str(path), max_bytes=100) == 2
    assert "more than the limit of 100 bytes" in capsys.readouterr().err


@pytest.mark.skipif(
    not (ADDON_ROOT / "sepa" / "__main__.py").exists(), reason="sepa/__main__.py not written yet"
)
@pytest.mark.parametrize(
    ("name", "code"),
    [("camt054_001_04_credits.xml", 0), ("../test_read_safety.py", 2)],
)
def test_python_m_sepa_read(name, code):
    completed = subprocess.run(
        [sys.executable, "-m", "sepa", "read", str(FIXTURES / name)],
        cwd=ADDON_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == code, completed.stderr
    if code == 0:
        assert json.loads(completed.stdout)["message"] == "camt.054.001.04"
    else:
        assert completed.stdout == ""
        assert completed.stderr.startswith("error") or "error" in completed.stderr.lower()
