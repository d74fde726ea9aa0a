"""Agora's shared library: the plumbing every service function stands on.

Modules are imported on demand; importing ``agora`` itself costs nothing, so a
function pays only for the clients its operation uses.
"""

__version__ = "0.1.0"
