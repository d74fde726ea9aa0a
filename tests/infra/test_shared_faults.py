"""No deployed function can be armed with fault points: only a test run sets AGORA_FAULTS."""

from __future__ import annotations

import json

from tests.infra.synthesis import Synthesis


def test_no_template_arms_a_fault_point(synth: Synthesis):
    for name, document in synth.documents.items():
        assert "AGORA_FAULTS" not in json.dumps(document), name
