"""The roles' parts of the container road, merged: no role overwrites another's value."""

from types import SimpleNamespace

import pytest

from provision.containers.parts import Containers, Image, gather, merge, merge_objects
from provision.project.roles import RoleError


def role(name, part):
    return SimpleNamespace(name=name, module=SimpleNamespace(containers=lambda ctx: part(ctx)))


def test_mappings_merge_key_by_key_and_a_different_value_is_refused():
    one = {"services": {"app": {"image": "a:1", "environment": {"A": "1"}}}}
    two = {"services": {"app": {"environment": {"B": "2"}}, "db": {"image": "pg"}}}
    assert merge(one, two, "roles/x") == {
        "services": {"app": {"image": "a:1", "environment": {"A": "1", "B": "2"}},
                     "db": {"image": "pg"}}
    }  # fmt: skip
    assert merge(one, one, "roles/x") == one  # the same value twice is the same value
    with pytest.raises(RoleError, match=r"roles/x: services.app.image: set to 'b:2', where "
                       r"another role set 'a:1'"):  # fmt: skip
        merge(one, {"services": {"app": {"image": "b:2"}}}, "roles/x")
    assert one["services"]["app"]["environment"] == {"A": "1"}  # never changed in place


def test_objects_of_one_kind_and_name_are_one():
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"A": ""}}
    more = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"B": ""}}
    other = {"kind": "ConfigMap", "metadata": {"name": "s"}}
    merged = merge_objects([secret], [more, other], "roles/x")
    assert merged == [{"kind": "Secret", "metadata": {"name": "s"},
                       "stringData": {"A": "", "B": ""}}, other]  # fmt: skip


def test_the_parts_are_gathered_in_order_with_the_image_named_and_one_image_only():
    seen = []

    def first(ctx):
        seen.append((ctx.vars["container_image_ref"], ctx.facts.os_codename))
        return Containers(image=Image("FROM x", "app"), notes=["compose: one"],
                          compose={"services": {"app": {"image": "a"}}})  # fmt: skip

    def second(ctx):
        return Containers(compose={"volumes": {"v": {}}}, notes=["kube: two"])

    whole = gather([role("one", first), role("two", second)], {"app_name": "a"}, "a:1")
    assert seen == [("a:1", "bookworm")]  # the image's system: Debian 12, as the servers
    assert whole.image.containerfile == "FROM x"
    assert whole.compose == {"services": {"app": {"image": "a"}}, "volumes": {"v": {}}}
    assert whole.notes == ["compose: one", "kube: two"]
    with pytest.raises(RoleError, match="roles/again: one role at most may say how the image"):
        gather([role("one", first), role("again", first)], {}, "a:1")
    with pytest.raises(RoleError, match=r"roles/bad: containers\(\) must return a Containers"):
        gather([role("bad", lambda ctx: {"services": {}})], {}, "a:1")
