"""The log's indexes: what a site has after install or migrate, and the patch that swaps the retired one."""

import frappe

from opt_consent.install import INDEXES, RETIRED_INDEXES
from opt_consent.ledger.log import LOCKING_GROUP, highest_idx_query, rows_at_query
from opt_consent.patches import retire_log_order_index
from tests.integration.factories import make_phone_with_history

LOG = "tabOpt Log"


def index_columns(table: str) -> dict[str, list[str]]:
	out: dict[str, list[str]] = {}
	for row in frappe.db.sql(f"show index from `{table}`", as_dict=True):
		out.setdefault(row.Key_name, []).append(row.Column_name)
	return out


def test_the_site_has_every_composite_index_and_no_retired_one():
	for doctype, indexes in INDEXES.items():
		have = index_columns(f"tab{doctype}")
		for name, columns in indexes.items():
			assert have.get(name) == list(columns), (doctype, name, have.get(name))
	for doctype, retired in RETIRED_INDEXES.items():
		assert not set(retired) & set(index_columns(f"tab{doctype}")), doctype


def test_the_patch_swaps_the_old_log_index_for_the_covering_one_and_runs_twice():
	# a site as an earlier version left it (DDL commits: the test leaves the site as installed)
	frappe.db.sql_ddl(f"alter table `{LOG}` drop index `log_parent_order_index`")
	frappe.db.sql_ddl(f"alter table `{LOG}` add index `log_order_index` (`parent`, `idx`)")
	try:
		retire_log_order_index.execute()
		retire_log_order_index.execute()
	finally:
		if not frappe.db.has_index(LOG, "log_parent_order_index"):
			frappe.db.add_index(
				"Opt Log", list(INDEXES["Opt Log"]["log_parent_order_index"]), "log_parent_order_index"
			)
	have = index_columns(LOG)
	assert "log_order_index" not in have
	assert have["log_parent_order_index"] == ["parent", "parenttype", "parentfield", "idx"]


def test_a_records_row_count_and_newest_rows_are_read_from_the_index():
	count = frappe.db.sql(
		f"explain select count(*) from `{LOG}` where parent = 'x' and parenttype = 'Phone' and parentfield = 'opt_logs'",
		as_dict=True,
	)[0]
	assert count.key == "log_parent_order_index" and "Using index" in (count.Extra or ""), count
	newest = frappe.db.sql(
		f"""explain select * from `{LOG}` where parent = 'x' and parenttype = 'Phone' and parentfield = 'opt_logs'
		order by idx desc limit 50""",
		as_dict=True,
	)[0]
	assert newest.key == "log_parent_order_index" and "filesort" not in (newest.Extra or ""), newest


def test_the_locking_reads_of_a_records_last_row_use_the_index_whatever_the_tables_size():
	# On a small table the optimizer may prefer a full scan, which under FOR UPDATE would lock every row of
	# the log (and deadlock two chunks of a lapse run on disjoint records): both reads name the index.
	# a group as last_rows asks for it (a lapse batch of 500 records is read in groups: 500 tuples of four
	# values would pass MariaDB's in_predicate_conversion_threshold and be read as a join over the table)
	names = [make_phone_with_history() for _ in range(3)]
	highest = highest_idx_query("Phone", names).run()
	assert len(highest) == 3
	batch = names + [f"no-such-phone-{i}" for i in range(LOCKING_GROUP - 3)]
	positions = list(highest) + [(name, 1) for name in batch[3:]]
	for query in (highest_idx_query("Phone", batch), rows_at_query("Phone", positions)):
		plan = frappe.db.sql(f"explain {query.get_sql()}", as_dict=True)
		assert [(row.key, row.type) for row in plan] == [("log_parent_order_index", "range")], plan
