"""The run machine: long jobs in chunks on Frappe's workers, Resume, the last chunk's join."""
