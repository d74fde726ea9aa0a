"""Pure rules of the users domain: no I/O, no framework imports."""
