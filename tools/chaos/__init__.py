"""``make chaos``: faults injected one at a time into the running ``make dev``, under load."""
