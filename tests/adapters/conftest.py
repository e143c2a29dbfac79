"""The adapters are called both ways they score: through the running service and in this process."""

import pytest

from tests.service import TOKEN


@pytest.fixture(params=["remote", "local"])
def mode(request, server, monkeypatch):
    """Both ways an adapter scores: the running service (RK_REWARD_URL) or the preset in this process."""
    monkeypatch.delenv("RK_REWARD_URL", raising=False)
    monkeypatch.setenv("RK_SERVE_TOKEN", TOKEN)
    monkeypatch.setenv("RK_IMAGE_ROOT", str(server["root"]))
    monkeypatch.setenv("RK_DEVICE", "cpu")
    if request.param == "remote":
        monkeypatch.setenv("RK_REWARD_URL", server["url"])
    return request.param
