"""Reliability proof (issue 5): fault injection and reconciliation on the local account."""
