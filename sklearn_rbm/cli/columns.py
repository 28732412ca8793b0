"""Which column is which: the names of a header line mapped to the roles of
a ratings or pairs file (user, item, rating).

A header that names a user or an item column is read by its names:
``movieId,userId,rating`` is read as ``user,item,rating``, and
``userId,movieId,timestamp,rating`` takes its ratings from the fourth column.
A header that names no user or item column (``a,b,c``) leaves the columns in
their positions (``user,item[,rating[,timestamp]]``).

The words are wider than those the estimators read a DataFrame's columns
by (:data:`~sklearn_rbm.recommender.ids.USER_COLUMNS`, all included here):
a file is read once, while a fitted model reads its DataFrame's columns
again at every prediction, by the rule it was fitted with.
"""

import re

from .io import CLIError, note

#: words naming a user or an item column; a name is one of them, optionally
#: followed by one of ``_SUFFIXES``, compared ignoring case, spaces and
#: punctuation (``userId``, ``user_id``, ``Customer ID``, ``movieId``).
#: Words that name users in some data sets and items in others (profile,
#: account) are not in the lists.
_WORDS = {
    "user": """user users u customer client member visitor reader viewer
        listener player person rater reviewer buyer shopper subscriber
        learner student patient""",
    "item": """item items i movie m film product p sku asin isbn book track
        song artist article game anime video show recipe business restaurant
        course title post news document doc app hotel place venue event offer
        job beer wine episode series album playlist question repo page url
        link""",
}
_SUFFIXES = ("", "id", "ids", "name", "code", "key", "idx", "index", "no", "number")
_RATING = {
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
}
#: read and ignored, never the rating (as is any name holding time or date)
_OTHER = {"timestamp", "ts", "created", "rank", "position"}
_ROLES = {
    word + suffix: role
    for role, words in _WORDS.items()
    for word in words.split()
    for suffix in _SUFFIXES
}


def role(name):
    """``"user"``, ``"item"``, ``"rating"``, ``"other"`` or None (unknown)."""
    key = re.sub(r"[^0-9a-z]", "", name.lower())
    if key in _ROLES:
        return _ROLES[key]
    if key in _RATING:
        return "rating"
    if key in _OTHER or "time" in key or "date" in key:
        return "other"
    return None


def names_both(fields):
    """Whether ``fields`` name a user and an item column (a header line)."""
    roles = {role(f) for f in fields}
    return {"user", "item"} <= roles


def _id_columns(name, shown, names, roles):
    """``(user, item)`` positions: by name; a missing one is the other of
    the first two columns when its name is unknown (``user_id,joke_id``)."""
    found = {}
    for want in ("user", "item"):
        at = [k for k, r in enumerate(roles) if r == want]
        if len(at) > 1:
            twice = " and ".join(repr(names[k]) for k in at)
            raise CLIError(
                f"{name}: the header {shown!r} names two {want} columns ({twice})"
            )
        if at:
            found[want] = at[0]
    for want, other in (("user", "item"), ("item", "user")):
        if want not in found:
            k = 1 - found[other] if found[other] < 2 else None
            if k is None or len(names) < 2 or roles[k] is not None:
                raise CLIError(
                    f"{name}: the header {shown!r} names no {want} column; "
                    "name the columns user,item[,rating] (or use --no-header "
                    "if the line is data)"
                )
            found[want] = k
    return found


def by_name(path, names, rating):
    """Indices ``[user, item(, rating)]`` of the columns named by ``names``,
    or None when they are the usual positions (or no name is a user or item
    column): the rows are then read by position.

    A header naming only one of the id columns takes the other of the first
    two columns for the other id, if its name is unknown (``user_id,joke_id``).
    ``rating``: ``"needed"`` (a ratings file: the column named as a rating,
    else the one column of an unknown name, else the third column if its
    name is unknown; error if none), ``"optional"`` (as needed, but a header
    with no such column is a pairs file) or ``"ignored"`` (a pairs file: any
    third column is ignored). Every row must then have as many fields as the
    header.
    """
    roles = [role(n) for n in names]
    if "user" not in roles and "item" not in roles:
        return None
    name = path.name
    shown = ",".join(names)
    found = _id_columns(name, shown, names, roles)
    cols = [found["user"], found["item"]]
    if rating != "ignored":
        at = [k for k, r in enumerate(roles) if r == "rating"]
        unknown = [k for k, r in enumerate(roles) if r is None and k not in cols]
        if len(at) > 1:
            twice = " and ".join(repr(names[k]) for k in at)
            raise CLIError(
                f"{name}: the header {shown!r} names two rating columns ({twice})"
            )
        if at:
            cols.append(at[0])
        elif len(unknown) == 1:
            cols.append(unknown[0])
        elif 2 in unknown:  # the rating's place when nothing names it
            cols.append(2)
        elif unknown:
            several = ", ".join(repr(names[k]) for k in unknown)
            raise CLIError(
                f"{name}: the header {shown!r} names no rating column and "
                f"more than one could be it ({several}); name it rating"
            )
        elif rating == "needed":
            raise CLIError(f"{name}: the header {shown!r} names no rating column")
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
