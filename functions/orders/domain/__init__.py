"""Pure rules of the orders domain: no I/O, no framework imports."""
