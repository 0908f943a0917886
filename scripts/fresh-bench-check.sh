#!/usr/bin/env bash
# The README's two commands on a brand-new bench and site, then both removed (used by .ci/run on request).
#   OPT_CONSENT_FRAPPE_PATH=SRC [OPT_CONSENT_FRAPPE_BRANCH=version-15] scripts/fresh-bench-check.sh
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=${OPT_CONSENT_FRAPPE_PATH:?set OPT_CONSENT_FRAPPE_PATH to a Frappe source (git URL or local clone)}
branch=${OPT_CONSENT_FRAPPE_BRANCH:-version-15}
work=$(mktemp -d /tmp/opt-consent-fresh.XXXXXX)
site="fresh-$(basename "$work" | tr 'A-Z' 'a-z' | tr -dc 'a-z0-9').localhost"
db_user=${DB_ROOT_USER:-opt_bench_root}
db_password=${DB_ROOT_PASSWORD:-opt_bench_root}

cleanup() {
	if [ -d "$work/bench/sites/$site" ]; then
		(cd "$work/bench" && bench drop-site "$site" --db-root-username "$db_user" \
			--db-root-password "$db_password" --no-backup --force > /dev/null 2>&1)
	fi
	rm -rf "$work"
	[ -w /etc/hosts ] && sed -i "/[[:space:]]$site\$/d" /etc/hosts
}
trap cleanup EXIT

echo "== fresh bench: command 1 (setup) in $work/bench, site $site, Frappe $branch"
if ! bash "$repo/scripts/setup-bench.sh" --frappe-path "$src" --frappe-branch "$branch" \
	--bench "$work/bench" --site "$site" > "$work/setup.log" 2>&1; then
	tail -40 "$work/setup.log"
	echo "!! fresh bench: setup failed"
	exit 1
fi
echo "== fresh bench: command 1 again (a re-run repairs, never stacks damage)"
bash "$repo/scripts/setup-bench.sh" --frappe-path "$src" --frappe-branch "$branch" \
	--bench "$work/bench" --site "$site" > "$work/setup2.log" 2>&1 ||
	{ tail -40 "$work/setup2.log"; echo "!! fresh bench: the repeated setup failed"; exit 1; }
echo "== fresh bench: command 2 (test)"
OPT_CONSENT_BENCH="$work/bench" OPT_CONSENT_SITE="$site" OPT_CONSENT_SKIP_THROWAWAY_SITE=1 \
	bash "$repo/scripts/test.sh"
