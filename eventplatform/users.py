def display_name(user) -> str:
    """How a person is shown to others: their full name, else their username ("" for nobody)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
