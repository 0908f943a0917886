"""The ledger's pure rules (no Frappe): engine, chain, purposes, coverage, wording, business days."""
