"""The commands a person runs on live servers, and the CLI that the Fabric tasks call.

``cli`` turns a task's options into engine calls; ``status``, ``doctor``, ``logs``,
``oneoff`` (``fab exec``) and ``actions`` (``fab backup`` and other one-off jobs a role
offers) each read or act on the servers of a project, through the project's roles.
"""
