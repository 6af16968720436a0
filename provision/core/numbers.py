"""The one test of a number in settings and commands: Python counts ``True`` as the int 1,
and a setting written ``yes`` must never pass for a count."""


def is_number(value: object, whole: bool = False) -> bool:
    """An int, or (unless ``whole``) a float; never a bool.

    >>> is_number(2), is_number(2.5), is_number(2.5, whole=True), is_number(True)
    (True, True, False, False)
    """
    kinds = int if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)
