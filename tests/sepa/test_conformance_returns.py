"""Conformance of the reader with the public samples in ``<addon root>/../shared/testdata``.

For every camt.053 / camt.054 / pain.002 sample, the reader's JSON (the same JSON
``python -m sepa read`` prints) must match EXPECTED.json: the message name, the pain.002
header values, the number of transactions, and for each expected transaction (in order)
every key it lists.
"""

import io
import json
from pathlib import Path

import pytest

from sepa.cli_read import run
from sepa.readers import read_message

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
FOLDERS = ("camt053", "camt054", "pain002")
HEADER_KEYS = ("original_msg_id", "original_msg_name", "group_status", "group_reason_code")


def sample_paths():
    """Return the sample files, relative to the testdata folder."""
    if not TESTDATA.is_dir():
        return []
    return sorted(
        f"{folder}/{path.name}" for folder in FOLDERS for path in (TESTDATA / folder).glob("*.xml")
    )


def expected():
    """Return EXPECTED.json as a dict."""
    return json.loads((TESTDATA / "EXPECTED.json").read_text(encoding="utf-8"))


pytestmark = pytest.mark.skipif(
    not TESTDATA.is_dir(), reason=f"shared test data not found at {TESTDATA} (../shared absent)"
)


def test_samples_are_present():
    assert sample_paths(), f"no camt/pain.002 samples under {TESTDATA}"
    listed = {key for key in expected() if key.split("/")[0] in FOLDERS}
    assert listed == set(sample_paths())


def assert_matches(actual, want, sample):
    """Assert that ``actual`` (reader JSON) matches ``want`` (EXPECTED.json entry)."""
    assert actual["message"] == want["message"], sample
    for key in HEADER_KEYS:
        if key in want:
            assert actual[key] == want[key], f"{sample}: {key}"
    if "payment_infos" in want:
        assert len(actual["payment_infos"]) == len(want["payment_infos"]), sample
        for index, (got, info) in enumerate(
            zip(actual["payment_infos"], want["payment_infos"], strict=True)
        ):
            for key, value in info.items():
                assert got[key] == value, f"{sample}: payment_infos[{index}].{key}"
    transactions = actual["transactions"]
    assert len(transactions) == len(want["transactions"]), f"{sample}: number of transactions"
    for index, (got, item) in enumerate(zip(transactions, want["transactions"], strict=True)):
        for key, value in item.items():
            assert key in got, f"{sample}: transactions[{index}] has no key {key!r}"
            assert got[key] == value, f"{sample}: transactions[{index}].{key}"


@pytest.mark.parametrize("sample", sample_paths())
def test_sample_matches_expected(sample):
    data = (TESTDATA / sample).read_bytes()
    actual = json.loads(json.dumps(read_message(data).to_json_dict()))
    assert_matches(actual, expected()[sample], sample)


@pytest.mark.parametrize("sample", sample_paths())
def test_command_line_output_matches_expected(sample):
    out, err = io.StringIO(), io.StringIO()
    assert run(str(TESTDATA / sample), stdout=out, stderr=err) == 0, err.getvalue()
    assert_matches(json.loads(out.getvalue()), expected()[sample], sample)
