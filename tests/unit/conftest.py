"""Shared by the unit tests: lines a test wants shown in pytest's terminal summary."""

import pytest

_SUMMARY: list[str] = []


@pytest.fixture(scope="session")
def terminal_summary() -> list[str]:
	"""Append lines here; they are written at the end of the run, after the test results."""
	return _SUMMARY


def pytest_terminal_summary(terminalreporter):
	if _SUMMARY:
		terminalreporter.write_sep("-", "figures")
		for line in _SUMMARY:
			terminalreporter.write_line(line)
