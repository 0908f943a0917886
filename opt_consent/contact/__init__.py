"""Consent on the Contact: a record for every number and address, the Contact's consent section."""
