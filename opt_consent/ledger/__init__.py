"""The consent ledger: the engine, the sealed log, the records, purposes, settings, the integrity check."""
