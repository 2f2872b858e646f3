"""dotify: music recommendations from Spotify Charts.

Countries and songs are embedded in one vector space by Implicit Matrix Factorization
(Hu, Koren & Volinsky 2008); country arithmetic ("Colombia x Turkey - Germany") combines
country vectors into a query scored against every song.
"""

from dotify.config import Settings
from dotify.errors import DotifyError

__all__ = ["DotifyError", "Settings", "__version__"]
__version__ = "0.1.0"
