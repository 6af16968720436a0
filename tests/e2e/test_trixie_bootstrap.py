"""The tests of test_bootstrap.py, on Debian 13 ("trixie"), what a new cloud VM gets."""

from tests.e2e.test_bootstrap import *  # noqa: F403

SUITE = "trixie"
