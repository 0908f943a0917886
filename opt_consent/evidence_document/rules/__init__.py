"""The evidence file's pure rules (no Frappe): its format and offline verification."""
