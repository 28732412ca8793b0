"""Which column is which: the names of a header line mapped to the roles of
a ratings or pairs file (user, item, rating), as the estimators read a
DataFrame's columns by name.

A header that names a user or an item column is read by its names:
``movieId,userId,rating`` is read as ``user,item,rating``, and
``userId,movieId,timestamp,rating`` takes its ratings from the fourth column.
A header that names no user or item column (``a,b,c``) leaves the columns in
their positions (``user,item[,rating[,timestamp]]``).
"""

import re

from ..recommender.ids import column_role
from .io import CLIError, note

# besides the id columns of :func:`~sklearn_rbm.recommender.ids.column_role`
_OTHER_ROLES = {
    **dict.fromkeys(
        [
            "rating",
            "ratings",
            "rate",
            "rated",
            "stars",
            "star",
            "r",
            "grade",
            "preference",
            "pref",
            "vote",
        ],
        "rating",
    ),
    # read and ignored: never taken as the rating
    **dict.fromkeys(
        [
            "timestamp",
            "time",
            "ts",
            "date",
            "datetime",
            "unixtime",
            "created",
            "createdat",
            "rank",
            "position",
        ],
        "other",
    ),
}


def role(name):
    """``"user"``, ``"item"``, ``"rating"``, ``"other"`` or None (unknown)."""
    return column_role(name) or _OTHER_ROLES.get(re.sub(r"[^0-9a-z]", "", name.lower()))


def names_a_role(fields):
    """Whether one of ``fields`` is the name of a user or item column: the
    line is a header, not data."""
    return any(role(f) in ("user", "item") for f in fields)


def by_name(path, names, rating):
    """Indices ``[user, item(, rating)]`` of the columns named by ``names``,
    or None when no name is a user or item column (read by position).

    ``rating``: ``"needed"`` (a ratings file: the column named as a rating,
    else the one column of an unknown name; error if none or several),
    ``"optional"`` (as needed, but a header with no such column is a pairs
    file) or ``"ignored"`` (a pairs file: any third column is ignored).
    Every row must then have as many fields as the header, unless the
    columns are where their positions put them (``user,item,rating``): then
    None, as without names.
    """
    roles = [role(n) for n in names]
    if "user" not in roles and "item" not in roles:
        return None
    name = path.name
    shown = ",".join(names)
    found = {}
    for want in ("user", "item", "rating"):
        at = [k for k, r in enumerate(roles) if r == want]
        if len(at) > 1:
            twice = " and ".join(repr(names[k]) for k in at)
            raise CLIError(
                f"{name}: the header {shown!r} names two {want} columns ({twice})"
            )
        if at:
            found[want] = at[0]
    for want in ("user", "item"):
        if want not in found:
            raise CLIError(
                f"{name}: the header {shown!r} names no {want} column; name the "
                "columns user,item[,rating] (or use --no-header if the line is data)"
            )
    cols = [found["user"], found["item"]]
    if rating != "ignored":
        if "rating" not in found:
            unknown = [k for k, r in enumerate(roles) if r is None]
            if len(unknown) == 1:
                found["rating"] = unknown[0]
            elif unknown:
                several = ", ".join(repr(names[k]) for k in unknown)
                raise CLIError(
                    f"{name}: the header {shown!r} names no rating column and "
                    f"more than one could be it ({several}); name it rating"
                )
            elif rating == "needed":
                raise CLIError(f"{name}: the header {shown!r} names no rating column")
        if "rating" in found:
            cols.append(found["rating"])
    # where the positions give the same columns, they are read as ever
    # (a pairs file may then have a third and fourth column, ignored)
    if cols == [0, 1, 2] or (
        cols == [0, 1] and (rating == "ignored" or len(names) == 2)
    ):
        return None
    read = ", ".join(
        f"{what} = {names[k]!r} (column {k + 1})"
        for what, k in zip(("user", "item", "rating"), cols)
    )
    note(f"{name}: columns read by the header's names: {read}")
    return cols
