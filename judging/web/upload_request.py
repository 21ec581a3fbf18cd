"""The request class: uploads spool to disk while the body is parsed, and every spooled file is closed
when the request ends, also when the client went away half-way and the parser gave up.
"""

from __future__ import annotations

from typing import IO

from flask import Request


class UploadRequest(Request):
    """Werkzeug writes each uploaded file to a temporary file past 500 KB (memory stays flat); when the
    body stops short, the parser drops those files without closing them, so this class keeps a list."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        stream = super()._get_file_stream(total_content_length, content_type, filename, content_length)
        self.__dict__.setdefault("_spooled_uploads", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_spooled_uploads", []):
            stream.close()
