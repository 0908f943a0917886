"""The public path ``opt_consent.history_import.start`` (the desk's Dry Run and Apply) and the job names
queued under this module before the move (``run_job``, ``run_chunk``), kept answering exactly as before: a thin
alias of :mod:`opt_consent.api.history_import` and :mod:`opt_consent.history.job`, where the code lives."""

from opt_consent.api.history_import import (  # noqa: F401
	start,
)
from opt_consent.history.job import (  # noqa: F401
	APPLY,
	CHUNK_METHOD,
	DOCTYPE,
	DRY_RUN,
	QUEUED,
	ROLES,
	check_may_import,
	complete,
	file_path,
	import_queue,
	importer_commit,
	job_id,
	options_dict,
	options_of,
	progress_of,
	record_failure,
	record_result,
	run_chunk,
	run_file,
	run_job,
	set_status,
	still_running,
)
