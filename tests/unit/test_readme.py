"""The README's install and test commands are the ones CI runs."""

import re

from tests.helpers import ROOT


def ci_command(name):
    text = (ROOT / ".ci/run").read_text()
    return re.search(rf'^{name}="(.*)"$', text, re.M).group(1).replace("\\'", "'")


def test_readme_states_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    assert f"    {ci_command('INSTALL')}" in readme
    assert f"    {ci_command('TEST')}" in readme
