"""``async with`` for the objects that are closed with ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AsyncClosing:
    """Entering returns the object itself; leaving awaits its ``aclose()``."""

    __slots__ = ()

    async def aclose(self) -> None:
        """Release what the object holds; the subclass says what."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
