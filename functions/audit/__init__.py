"""The audit trail: every domain event on the bus, logged once and counted by type."""
