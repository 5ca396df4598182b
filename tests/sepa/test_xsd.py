"""XSD loading from the sepaxml package and streaming validation."""

import datetime
import os

import pytest

from sepa import xsd
from sepa.errors import SepaValidationError
from sepa.pain008 import write_pain008
from sepa.sample import sample_batch

TODAY = datetime.date(2025, 3, 3)


def test_shipped_versions():
    versions = xsd.available_versions()
    assert "pain.008.001.02" in versions
    assert "pain.008.001.08" in versions
    assert all(v.startswith("pain.008.") for v in versions)


def test_xsd_path():
    path = xsd.xsd_path("pain.008.001.02")
    assert path and os.path.isfile(path)
    assert os.path.basename(os.path.dirname(path)) == "schemas"
    assert xsd.xsd_path("pain.008.003.02") is None
    assert xsd.xsd_path("pain.008.002.02") is None
    assert xsd.xsd_path("../../etc/passwd") is None
    assert xsd.xsd_path(None) is None


def test_schema_is_cached():
    assert xsd.get_schema("pain.008.001.08") is xsd.get_schema("pain.008.001.08")


def test_unknown_schema():
    with pytest.raises(SepaValidationError, match="no XSD available for 'pain.008.003.02'"):
        xsd.get_schema("pain.008.003.02")


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_valid_document(version):
    data = write_pain008(sample_batch(50, seed=2, today=TODAY), version, today=TODAY,
                         validate=False)
    xsd.validate(data, version)


def test_error_names_element_and_line():
    data = write_pain008(sample_batch(3, seed=2, today=TODAY), today=TODAY, pretty=True)
    broken = data.replace(b"<PmtMtd>DD</PmtMtd>", b"<PmtMtd>XX</PmtMtd>", 1)
    line = broken[:broken.index(b"<PmtMtd>XX")].count(b"\n") + 1
    with pytest.raises(SepaValidationError) as info:
        xsd.validate(broken, "pain.008.001.02")
    message = str(info.value)
    assert "PmtMtd" in message
    assert f"line {line}" in message
    assert info.value.field == "PmtMtd"


def test_error_for_a_misplaced_element():
    data = write_pain008(sample_batch(3, seed=2, today=TODAY), today=TODAY)
    broken = data.replace(b"<ChrgBr>SLEV</ChrgBr>", b"", 1).replace(
        b"<PmtMtd>DD</PmtMtd>", b"<PmtMtd>DD</PmtMtd><ChrgBr>SLEV</ChrgBr>", 1)
    with pytest.raises(SepaValidationError, match="ChrgBr.*not expected"):
        xsd.validate(broken, "pain.008.001.02")


def test_wrong_version_is_an_error():
    data = write_pain008(sample_batch(3, seed=2, today=TODAY), "pain.008.001.08", today=TODAY)
    with pytest.raises(SepaValidationError, match="XSD pain.008.001.02"):
        xsd.validate(data, "pain.008.001.02")


def test_validation_streams_large_documents():
    """Validating 20,000 transactions keeps only a small part of the tree alive."""
    data = write_pain008(sample_batch(20_000, seed=5, today=TODAY), today=TODAY,
                         validate=False)
    xsd.validate(data, "pain.008.001.02")


def test_validate_tree_lists_errors():
    from lxml import etree

    data = write_pain008(sample_batch(3, seed=2, today=TODAY), today=TODAY)
    tree = etree.fromstring(data.replace(b"<PmtMtd>DD", b"<PmtMtd>XX", 1))
    errors = xsd.validate_tree(tree, "pain.008.001.02")
    assert errors and "PmtMtd" in errors[0]
    assert xsd.validate_tree(etree.fromstring(data), "pain.008.001.02") == []
