"""``python -m sepa write|sample|check`` and the batch JSON format."""

import datetime
import decimal
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sepa.__main__ import main
from sepa.errors import SepaValidationError
from sepa.inspect import inspect_pain008
from sepa.model import batch_from_dict
from sepa.pain008 import write_pain008

ADDON_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ADDON_ROOT / "docs" / "batch-example.json"
TODAY = "2029-12-20"


def run(*args, stdin=None):
    """Run ``python -m sepa ARGS`` from the addon root; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "sepa", *args], cwd=ADDON_ROOT, capture_output=True,
        input=stdin, check=False,
    )


def load_example():
    """The documented example as plain data."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"), parse_float=decimal.Decimal)


def test_example_builds_the_documented_batch():
    batch = batch_from_dict(load_example())
    assert batch.msg_id == "SDD-2030-01-001"
    assert [b.sequence_type for b in batch.blocks] == ["FRST", "RCUR"]
    assert [d.amount for d in batch.debits] == [decimal.Decimal("25.00"),
                                                decimal.Decimal("12.50"),
                                                decimal.Decimal("7.95")]
    assert batch.blocks[1].debits[0].amendment.smnda is True
    assert batch.creditor.address.town == "Ons Dorp"


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_write_command(version, tmp_path):
    done = run("write", str(EXAMPLE), "--version", version, "--today", TODAY)
    assert done.returncode == 0, done.stderr
    report = inspect_pain008(done.stdout, transactions=True)
    assert report["message"] == version
    assert report["valid"] and report["xsd_valid"]
    assert report["nb_of_txs"] == 3 and report["ctrl_sum"] == "45.45"
    names = [t["debtor_name"] for p in report["payment_infos"] for t in p["transactions"]]
    assert names == ["Emilie Gross", "Soren Orsted", "Jan de Vries"]
    assert done.stdout == write_pain008(
        batch_from_dict(load_example()), version, today=datetime.date(2029, 12, 20),
        pretty=True)


def test_write_from_flat_debits_groups_them(tmp_path):
    data = load_example()
    flat = []
    for block in data.pop("blocks"):
        for item in block["debits"]:
            flat.append({**item, "collection_date": block["collection_date"],
                         "sequence_type": block["sequence_type"]})
    data["debits"] = flat
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    done = run("write", str(path), "--today", TODAY, "--compact")
    assert done.returncode == 0, done.stderr
    report = inspect_pain008(done.stdout)
    assert [(p["pmt_inf_id"], p["seq_tp"], p["nb_of_txs"]) for p in report["payment_infos"]] == [
        ("SDD-2030-01-001-P1", "FRST", 2), ("SDD-2030-01-001-P2", "RCUR", 1)]
    assert b"\n  " not in done.stdout


def test_write_reads_stdin():
    done = run("write", "-", "--today", TODAY, stdin=EXAMPLE.read_bytes())
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(msg_d="x"), "batch: unknown key(s) msg_d"),
    (lambda d: d["blocks"][0]["debits"][0].update(amount="12,50"),
     "blocks[0].debits[0].amount: '12,50' is not a decimal amount"),
    (lambda d: d["blocks"][0]["debits"][0].pop("mandate_id"),
     "blocks[0].debits[0].mandate_id is missing"),
    (lambda d: d["blocks"][0].update(collection_date="15-01-2030"),
     "blocks[0].collection_date: '15-01-2030' is not a date"),
    (lambda d: d["blocks"][0]["debits"][0].update(debtor_iban="DE89370400440532013001"),
     "debit 'SDD-2030-01-001-1': DbtrAcct IBAN 'DE89370400440532013001' is invalid"),
    (lambda d: d.update(debits=[]), "give either 'blocks' or 'debits'"),
])
def test_write_bad_batch_is_one_line_on_stderr(change, message, tmp_path):
    data = load_example()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    done = run("write", str(path), "--today", TODAY)
    assert done.returncode == 2
    assert done.stdout == b""
    stderr = done.stderr.decode()
    assert stderr.count("\n") == 1 and message in stderr


def test_write_broken_json_and_missing_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    done = run("write", str(path))
    assert done.returncode == 2 and b"not valid JSON" in done.stderr
    done = run("write", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1


def test_write_past_collection_date():
    done = run("write", str(EXAMPLE), "--today", "2030-01-16")
    assert done.returncode == 2
    assert b"ReqdColltnDt 2030-01-15 is in the past" in done.stderr


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_sample_command_is_valid_and_deterministic(version):
    args = ("sample", "300", "--version", version, "--seed", "7", "--today", "2025-03-03")
    first, second = run(*args), run(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    report = inspect_pain008(first.stdout, transactions=True)
    assert report["valid"] and report["nb_of_txs"] == 300
    seq_types = {p["seq_tp"] for p in report["payment_infos"]}
    assert {"FRST", "RCUR", "OOFF"} <= seq_types
    assert len(report["payment_infos"]) >= 4
    amended = [t for p in report["payment_infos"] for t in p["transactions"]
               if t["amdmnt_ind"] == "true"]
    assert amended
    assert run("sample", "300", "--seed", "8", "--today", "2025-03-03").stdout != first.stdout


def test_sample_bad_arguments():
    assert run("sample", "0").returncode == 2
    assert run("sample", "ten").returncode == 2
    assert run("sample", "5", "--version", "pain.008.001.99").returncode == 2


def test_check_command(tmp_path):
    path = tmp_path / "file.xml"
    path.write_bytes(run("sample", "20", "--today", "2025-03-03").stdout)
    done = run("check", str(path))
    assert done.returncode == 0
    report = json.loads(done.stdout)
    for key in ("message", "xsd_valid", "errors", "nb_of_txs", "ctrl_sum", "payment_infos"):
        assert key in report
    assert report["message"] == "pain.008.001.02" and report["errors"] == []
    info = report["payment_infos"][0]
    for key in ("pmt_inf_id", "seq_tp", "reqd_colltn_dt", "nb_of_txs", "ctrl_sum"):
        assert key in info
    assert "transactions" not in info
    with_tx = json.loads(run("check", str(path), "--transactions").stdout)
    assert len(with_tx["payment_infos"][0]["transactions"]) == info["nb_of_txs"]


def test_check_invalid_file_exits_1(tmp_path):
    data = run("sample", "5", "--today", "2025-03-03").stdout
    path = tmp_path / "bad.xml"
    path.write_bytes(data.replace(b"<NbOfTxs>5</NbOfTxs>", b"<NbOfTxs>6</NbOfTxs>", 1))
    done = run("check", str(path))
    assert done.returncode == 1
    assert json.loads(done.stdout)["errors"]


@pytest.mark.parametrize("content", [
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02">&e;</Document>',
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>',
])
def test_check_bad_input_exits_2_with_one_line(content, tmp_path):
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    done = run("check", str(path))
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.count(b"\n") == 1 and done.stderr.startswith(b"error: ")


def test_main_in_process(capsys):
    assert main(["check", str(ADDON_ROOT / "missing.xml")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_batch_from_dict_refuses_floats():
    data = load_example()
    data["blocks"][0]["debits"][0]["amount"] = 25.0
    with pytest.raises(SepaValidationError, match="is not a decimal amount"):
        batch_from_dict(data)
