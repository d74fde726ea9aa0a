"""Pure rules of the products domain: no I/O, no framework imports."""
