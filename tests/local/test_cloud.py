"""Starting the local cloud: clear refusals for a busy state directory or port."""

from __future__ import annotations

import socket

import pytest

from modelport.local.cloud import LocalCloud
from modelport.local.statefiles import StateDirInUse, StateLock
from modelport.local.testing import settings_for
from modelport.local.wsgi import PortInUse


def test_a_second_cloud_on_the_same_state_directory_is_refused(cloud):
    second = LocalCloud(settings_for(cloud.settings.state_dir))
    with pytest.raises(StateDirInUse) as refused:
        second.start()
    assert str(cloud.settings.state_dir) in str(refused.value)
    assert "pid" in str(refused.value)


def test_a_busy_port_is_refused_with_its_number(cloud, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        blocked = LocalCloud(settings_for(tmp_path, aws_port=port))
        # Only one embedded AWS runs per process: stop ours so the port check is reached.
        cloud.stop()
        try:
            with pytest.raises(PortInUse) as refused:
                blocked.start()
        finally:
            cloud.start()
    assert f"port {port}" in str(refused.value)
    # The refused start released its state lock: the directory can be used again.
    again = StateLock(tmp_path)
    again.acquire()
    again.release()
