"""The tests of test_rollback.py, on Debian 13 ("trixie"), what a new cloud VM gets."""

from tests.e2e.test_rollback import *  # noqa: F403

SUITE = "trixie"
