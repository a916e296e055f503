"""Errors a user can act on. The CLI prints their message as one line, without traceback."""


class HscError(Exception):
    """Base class: the message names the file, row or column and what to do."""


class CodebookError(HscError):
    """The codebook YAML is invalid."""


class InputError(HscError):
    """A raw export or processed table cannot be read or used."""
