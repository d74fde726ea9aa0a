"""The whole app, synthesized once per target (``synth``), and the declarations (``services``).

``synth`` builds every stack through ``stacks.app_stacks.build`` (as ``app.py`` does) into a fixed
folder under ``cdk.out/infra-tests/<target>``, so the dependency layer's bundle is reused between runs.
Tests that look at one stack take its template from ``synth.templates`` / ``synth.documents``; tests
that look across the system (a declared operation's function, its method and its grants are now in
different stacks) take ``synth.resources(type)``, which merges every stack's resources.
"""

from __future__ import annotations

import pytest

from agora.operations import Service, load_all
from tests.infra.synthesis import TARGETS, Synthesis, synthesize


@pytest.fixture(scope="session", params=TARGETS)
def synth(request: pytest.FixtureRequest) -> Synthesis:
    return synthesize(request.param)


@pytest.fixture(scope="session")
def services() -> tuple[Service, ...]:
    return load_all()
