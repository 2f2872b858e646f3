"""The chart simulator: a world of markets and songs whose charts carry a planted answer."""
