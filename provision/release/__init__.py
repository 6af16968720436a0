"""The release: built on this machine, installed, checked, switched and verified on each
server, and rolled out over many servers in health-gated batches.

``deploy`` declares the release flows (deploy, rollback) as named phases with hook points;
``flow`` runs such a flow; ``release`` is one host's run of it (``Release``); ``rollout``
runs it on every host of a command, in batches, with balancers after their app servers.
What each phase sends is in ``phases``; the switch and everything after it run as a
supervised job on the server (``golive``, ``supervised``), so that nothing unverified stays
live when this machine goes away. ``artifact`` and ``lockfiles`` make what is uploaded;
``layout`` names where releases live on a server, ``releases`` reads them back;
``deploy_lock`` keeps one deploy per app at a time; ``plan`` is what roles tell the flow
(the ``ReleasePlan`` and the steps at hook points). ``on_server/`` holds the scripts the
release runs on the server itself.
"""
