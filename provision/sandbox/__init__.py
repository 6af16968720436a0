"""The local sandbox: Debian hosts with systemd as PID 1, booted with systemd-nspawn.

``machines`` boots one host (a cached root filesystem, an SSH key, a known-hosts entry);
``network`` gives several hosts a private bridge in a network namespace of their own,
with a package cache; ``fleet`` boots several on one network; ``processes`` stops what
was started, by its pid. The tests, ``fab sandbox`` and the benchmarks use it.
"""
