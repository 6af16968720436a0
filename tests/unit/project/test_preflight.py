"""Settings refused before any connection, named where they were set."""

import pytest

from provision.project.inventory import InventoryError
from tests.fleet import preflight


@pytest.mark.parametrize(
    "setting, value, error",
    [
        ("serves", "web", "--set serves: expected one of all, app, balancer; got 'web'"),
        ("deploy_batch", [0], "--set deploy_batch: 0 hosts: a batch takes one host at least"),
        ("deploy_max_fail", -1, "--set deploy_max_fail: a number of servers: 0 or more"),
        ("release_installer", "poetry", "--set release_installer: one of: uv, pip"),
    ],
)
def test_settings_of_several_servers_are_checked_before_connecting(fleet, setting, value,
                                                                   error):  # fmt: skip
    with pytest.raises(InventoryError) as e:
        preflight(fleet, "lb", "bootstrap", **{setting: value})
    assert str(e.value).startswith(error)
