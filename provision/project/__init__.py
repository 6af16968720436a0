"""The project: what the user wrote, loaded and checked before any connection, then applied.

``inventory`` reads ``inventory.yaml`` (hosts, groups, settings); ``roles`` loads
``roles/<name>/`` (defaults, templates, tasks) and gives each role its ``RoleContext``;
``hooks`` declares what a role may answer besides its tasks, and calls it; ``plays`` reads
``roles/plays.yaml`` (which roles each command applies); ``preflight`` and ``schema``
refuse a setting before any server is touched; ``peers`` lets a role see the inventory's
other hosts; ``apply`` connects to hosts and converges them with a play.
"""
