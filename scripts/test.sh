#!/usr/bin/env bash
# Run every suite that can run here: the unit suite always; the integration suite (and the browser
# suite, where Chromium is installed) on the bench at $OPT_CONSENT_BENCH (default ~/frappe-bench).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${OPT_CONSENT_BENCH:-$HOME/frappe-bench}
cd "$repo"
status=0
pytest_flags=(-q -p no:cacheprovider -p no:debugging -o addopts= -rs)

python=python3
[ -x "$bench_dir/env/bin/python" ] && python="$bench_dir/env/bin/python"

echo "== unit suite (no Frappe)"
"$python" -m pytest "${pytest_flags[@]}" tests/unit || status=1

if [ -d "$bench_dir/apps/frappe" ] && [ -d "$bench_dir/sites" ]; then
	echo "== integration suite on the bench at $bench_dir"
	"$python" -m pytest "${pytest_flags[@]}" tests/integration || status=1
	if [ -x /usr/bin/chromium ] && "$python" -c "import playwright" 2>/dev/null; then
		if [ -d tests/e2e ]; then
			# The desk loads the bundle the bench's assets.json names: rebuild it when it is missing (e.g.
			# another bench linked to this checkout rebuilt it under another hash)
			# (every bundle of public/js: the dialog, Contact Control, Evidence)
			missing=$("$python" - "$bench_dir/sites" opt_consent/public/js <<'PY' 2>/dev/null || echo yes
import json, os, sys
sites, js = sys.argv[1:3]
built = json.load(open(os.path.join(sites, "assets", "assets.json")))
names = [n for n in os.listdir(js) if n.endswith(".bundle.js")]
print("yes" if any(not built.get(n) or not os.path.exists(sites + built[n]) for n in names) else "")
PY
)
			if [ -n "$missing" ]; then
				(cd "$bench_dir" && bench build --app opt_consent > /dev/null) || status=1
			fi
			echo "== browser suite (headless Chromium, screenshots in artifacts/)"
			"$python" -m pytest "${pytest_flags[@]}" tests/e2e || status=1
		fi
	else
		echo "!! Chromium or Playwright missing: the browser suite did not run"
		status=1
	fi
else
	echo
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	echo "!! NO FRAPPE BENCH at $bench_dir: the integration and browser suites DID NOT RUN."
	echo "!! Only the unit suite ran. Create one with scripts/setup-bench.sh."
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi
exit $status
