"""OUT's lock: a second writer is refused with one line naming the holder; released on exit."""

from __future__ import annotations

import os

import pytest

from rewardkit.scoring.lock import output_lock
from rewardkit.scoring.output import OutputError


def test_a_second_writer_is_refused_and_the_lock_is_released(tmp_path):
    out = tmp_path / "o.jsonl"
    with output_lock(out):
        with pytest.raises(OutputError, match=rf"another rewardkit run is writing it \(.*{os.getpid()}"):
            with output_lock(out):
                pass
    with output_lock(out):  # free again
        pass
