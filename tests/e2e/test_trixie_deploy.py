"""The tests of test_deploy.py, on Debian 13 ("trixie"), what a new cloud VM gets."""

from tests.e2e.test_deploy import *  # noqa: F403

SUITE = "trixie"
