"""The one exception type users see.

Every error caused by bad input (a file, a key, a value, a path) is raised as
`AisnasError` with a one-line message that names the culprit and what is allowed; the
CLI prints that line and exits non-zero without a traceback. Anything else is a bug and
keeps its traceback.
"""


class AisnasError(Exception):
    """Bad input or an unusable environment, described in one line."""

    def __init__(self, message: str):
        # Collapse newlines so the CLI always prints exactly one line.
        super().__init__(" ".join(str(message).split()))
