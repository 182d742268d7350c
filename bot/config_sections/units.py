"""Units the settings' sizes are written in."""

MIB = 1024 * 1024
