"""LocalStack extensions that let Agora's CDK stacks run on a host without Docker.

The plugin uses LocalStack's private modules, so it is written against one LocalStack release: the
one ctl.py installs (``LOCALSTACK_CORE``), checked by ``tests/test_localstack_pin.py``.
"""

LOCALSTACK_VERSION = "2026.3.0"
