"""The consent rules stay plain Python: importing them never imports Frappe."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PURE = [
	"opt_consent.engine",
	"opt_consent.addresses",
	"opt_consent.gate",
	"opt_consent.reauth",
	"opt_consent.chain",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_not_import_frappe(module):
	code = f"import sys, {module}; sys.exit(1 if any(m == 'frappe' or m.startswith('frappe.') for m in sys.modules) else 0)"
	result = subprocess.run(
		[sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
	)
	assert result.returncode == 0, result.stderr or f"{module} imports frappe"
