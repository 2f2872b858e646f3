"""dotify's exceptions. The CLI and the web app translate them at the edge."""

from __future__ import annotations


class DotifyError(Exception):
    """Base class of every error dotify raises on purpose."""


class ConfigError(DotifyError):
    """A setting is missing or invalid."""


class StoreError(DotifyError):
    """The database cannot be reached, is locked, or refused a write."""


class ChartFormatError(DotifyError):
    """A chart file cannot be read; names the file, the line and the reason."""

    def __init__(self, path: object, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple:  # pickled as its three parts (ingest worker processes)
        return type(self), (self.path, self.line, self.reason)


class UnknownCountryError(DotifyError):
    """A country name or code matches no market; carries the closest matches."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Did you mean {' or '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown country {name!r}.{hint}")


class CountryNotInModelError(UnknownCountryError):
    """A known market that the loaded model has no vector for (no charts in its data)."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Similar markets in the model: {', '.join(self.suggestions)}." \
            if self.suggestions else ""
        DotifyError.__init__(self, f"{name} is a known market but the current model has no "
                             f"vector for it (it had no charts in the training data).{hint}")


class ExpressionError(DotifyError):
    """A country expression is malformed; carries the character position."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        super().__init__(message if position is None else f"{message} (at position {position})")


class ModelError(DotifyError):
    """A model cannot be trained, saved or loaded."""


class ModelFitError(ModelError):
    """Training produced unusable factors (NaN or inf)."""


class ArtifactError(ModelError):
    """A saved model is missing, incomplete or of an unknown version."""


class SourceError(DotifyError):
    """A chart source failed to deliver a chart."""


class MissingDependencyError(DotifyError):
    """An optional dependency is not installed; says what to install."""


class LockedError(DotifyError):
    """Another process holds a job's lock (two nightly runs never overlap)."""
