import logging

from .context import request_id_var, run_id_var


class ContextFilter(logging.Filter):
    """Stamps every log record with the current request id and run id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.run_id = run_id_var.get()
        return True
