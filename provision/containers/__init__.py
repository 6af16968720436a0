"""The container road: the app's image, compose file and Kubernetes manifests, made from
the inventory by the roles' parts (``parts``), with no connection."""
