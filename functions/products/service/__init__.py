"""Use cases of the products service, each one transaction behind a unit of work."""
