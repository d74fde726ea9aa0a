"""Use cases of the orders service, each one transaction behind a unit of work."""
