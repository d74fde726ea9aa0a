"""Lambda entry points of the audit trail."""
