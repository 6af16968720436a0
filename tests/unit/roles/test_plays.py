"""roles/plays.yaml: what each kind of host runs of each role."""

from tests.fleet import context


def test_each_role_does_only_its_part(fleet):
    fleet = fleet
    assert context(fleet, "gunicorn", "lb").tasks() == []
    assert fleet.roles["gunicorn"].module.release(context(fleet, "gunicorn", "lb")) is None
    assert [op.name for op in context(fleet, "nginx", "app1").tasks()] == ["site"]
    assert [op.name for op in context(fleet, "app", "lb").tasks()] == ["releases"]
