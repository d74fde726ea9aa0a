"""The local console: dashboards, alarms, traces, logs and dead-letter queues of the running dev
system, read from LocalStack's own AWS APIs and shown on a page served on 127.0.0.1.

    python -m tools.console [--port 4580]       # make console

Pure parts: ``metrics`` and ``expressions`` (dashboard widgets → queries → series), ``traces``
(X-Ray documents → waterfall, search, service map), ``logs``; the AWS reads are in ``sources``, the
HTTP server in ``server``, the page in ``static/``; ``browser`` finds or installs the headless
Chromium the browser test and the screenshot use.
"""
