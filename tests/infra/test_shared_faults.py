"""No deployed function can be armed with fault points: only a test run sets AGORA_FAULTS."""

from __future__ import annotations

import json


def test_no_template_arms_a_fault_point(target):
    _, _, template = target
    assert "AGORA_FAULTS" not in json.dumps(template.to_json())
