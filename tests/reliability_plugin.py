"""pytest plugin: collect the figures the integrity tests record (``record_property``) into a JSON file.

Used by ``scripts/reliability.py``: ``-p tests.reliability_plugin`` with ``OPT_CONSENT_RELIABILITY_JSON``
naming the output. Only passed tests count towards a figure; failures are listed by test id.
"""

import json
import os
from collections import Counter

_figures: Counter = Counter()
_outcomes: Counter = Counter()
_failed: list[str] = []
_per_test: dict[str, dict] = {}


def pytest_runtest_logreport(report):
	if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
		_outcomes[report.outcome] += 1
		if report.outcome == "failed":
			_failed.append(report.nodeid)
		if report.when == "call" and report.outcome == "passed":
			properties = dict(report.user_properties)
			for name, value in report.user_properties:
				_figures[name] += value
			if properties:
				_per_test[report.nodeid] = properties


def pytest_sessionfinish(session, exitstatus):
	path = os.environ.get("OPT_CONSENT_RELIABILITY_JSON")
	if not path:
		return
	with open(path, "w") as handle:
		json.dump(
			{
				"figures": dict(_figures),
				"outcomes": dict(_outcomes),
				"failed": _failed,
				"per_test": _per_test,
				"exitstatus": int(exitstatus),
			},
			handle,
			indent=1,
			sort_keys=True,
		)
