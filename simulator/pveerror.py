"""An error answered the way PVE answers it: HTTP code, reason phrase = message, optional per-parameter errors."""


class PveError(Exception):
    def __init__(self, status, message, errors=None, headers=None):
        super(PveError, self).__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def param_error(errors):
    return PveError(400, "Parameter verification failed.", errors)


def not_implemented(method, path):
    return PveError(501, "Method '%s %s' not implemented" % (method, path))
