"""Make the addon root importable so the tests can `import sepa` without Odoo.

The addon root and ``tests/`` are Odoo packages: their ``__init__.py`` import Odoo models,
which only works under pytest-odoo (as ``odoo.addons.sepa_direct_debit``). These toolkit
tests need neither, so the set-up of those parent packages (importing their
``__init__.py``) is skipped when running ``python -m pytest tests/sepa -p no:odoo``.
"""

import sys
from pathlib import Path

import pytest

ADDON_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ADDON_ROOT))

_ODOO_PACKAGES = {ADDON_ROOT, ADDON_ROOT / "tests"}


def _skip_setup():
    """Replacement set-up of an Odoo package: import nothing."""


def pytest_collection_modifyitems(items):
    """Do not import the Odoo packages above ``tests/sepa`` when setting up its tests."""
    for item in items:
        for node in item.listchain():
            if isinstance(node, pytest.Package) and node.path.resolve() in _ODOO_PACKAGES:
                node.setup = _skip_setup
