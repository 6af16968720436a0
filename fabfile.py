from provision.tasks import *  # noqa: F403  (provision's tasks, for `fab`)
