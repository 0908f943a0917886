"""Where the bench and its site are: environment first, then ~/frappe-bench and its default site."""

import json
import os
from pathlib import Path

BENCH = Path(os.environ.get("OPT_CONSENT_BENCH", Path.home() / "frappe-bench")).expanduser()
SITES = BENCH / "sites"


def default_site() -> str:
	if os.environ.get("OPT_CONSENT_SITE"):
		return os.environ["OPT_CONSENT_SITE"]
	current = SITES / "currentsite.txt"
	if current.exists() and current.read_text().strip():
		return current.read_text().strip()
	config = SITES / "common_site_config.json"
	if config.exists():
		site = json.loads(config.read_text()).get("default_site")
		if site:
			return site
	raise RuntimeError(f"No site: set OPT_CONSENT_SITE or run `bench use <site>` in {BENCH}")


SITE = default_site() if SITES.exists() else None
