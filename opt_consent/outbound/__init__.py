"""The SMS door: texts leave only with consent in force; the rest are Withheld Messages."""
