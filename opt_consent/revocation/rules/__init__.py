"""Revocation's pure rules (no Frappe): reading replies, the confirmation, an Inbound Text's status."""
