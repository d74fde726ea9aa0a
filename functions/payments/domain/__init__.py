"""Pure rules of the payments domain: no I/O, no framework imports."""
