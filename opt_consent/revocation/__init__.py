"""Revocation by any reasonable means (47 CFR 64.1200(a)(10)): replies, other means, the one confirmation text."""
