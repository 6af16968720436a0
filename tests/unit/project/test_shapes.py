"""Nested settings given a shape: converted strictly, and refused in words that name the
setting, the entry and the field."""

import pytest

from provision.project.schema import SchemaError
from provision.project.shapes import Shape, shaped, shaped_each


class Job(Shape):
    command: str
    timeout: float = 0

    def __post_init__(self):
        if self.timeout < 0:
            raise ValueError(f"timeout: 0 or more; got {self.timeout}")


def test_entries_come_back_in_their_shape():
    jobs = shaped_each("jobs", {"a": {"command": "x"}, "b": {"command": "y", "timeout": 5}}, Job)
    assert jobs == {"a": Job("x"), "b": Job("y", 5.0)}
    assert shaped("steps", [1, "50%"], list[int | str]) == [1, "50%"]


@pytest.mark.parametrize("value, kind, why", [
    ({"a": {"comand": "x"}}, Job, "jobs: a: unknown key 'comand'; did you mean 'command'?"),
    ({"a": {}}, Job, "jobs: a: command: missing"),
    ({"a": {"command": 1}}, Job, "jobs: a: command: expected a string, got an integer"),
    ({"a": {"command": "x", "timeout": "yes"}}, Job,
     "jobs: a: timeout: expected a number, got a string"),
    ({"a": {"command": "x", "timeout": True}}, Job,
     "jobs: a: timeout: expected a number, got a boolean"),  # strict: a bool is no number
    ({"a": {"command": "x", "timeout": -1}}, Job, "jobs: a: timeout: 0 or more; got -1.0"),
    (["a"], Job, "jobs: expected a mapping, got a list"),
])  # fmt: skip
def test_a_wrong_entry_is_named_with_its_field(value, kind, why):
    with pytest.raises(SchemaError) as e:
        shaped_each("jobs", value, kind)
    assert str(e.value) == why
    assert e.value.key == "jobs"  # preflight names the file and line that set it


def test_a_wrong_step_is_named_by_its_place():
    with pytest.raises(SchemaError, match=r"^steps: 2: expected an integer or a string, got "):
        shaped("steps", [1, "50%", None], list[int | str])
