"""Every relative link in the README and the docs points at a file that exists.

Links are Markdown's ``[text](target)`` and ``![alt](target)``; a target with a scheme (``https:``,
``mailto:``) or only an anchor (``#section``) is not a file and is skipped; ``path#anchor`` checks the path.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
	return [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]


def broken_links(path: Path) -> list[str]:
	"""The relative link targets in one Markdown file that name no existing file or folder."""
	text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)  # code is not links
	text = re.sub(r"`[^`\n]*`", "", text)
	broken = []
	for target in LINK.findall(text):
		if SCHEME.match(target) or target.startswith("#"):
			continue
		file_part = target.split("#", 1)[0]
		if not (path.parent / file_part).exists():
			broken.append(target)
	return broken


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path):
	assert broken_links(path) == [], f"{path.relative_to(REPO)} links to missing files"


def test_a_broken_link_is_caught(tmp_path):
	doc = tmp_path / "doc.md"
	(tmp_path / "there.md").write_text("here\n")
	doc.write_text(
		"[ok](there.md) [ok too](there.md#part) ![gone](images/none.png) [web](https://example.com)\n"
		"[anchor](#x) `[in code](missing.md)` [missing](missing.md)\n"
	)
	assert broken_links(doc) == ["images/none.png", "missing.md"]
