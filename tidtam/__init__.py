"""Tidtam's composition root: settings, the command line, and wiring of the rooms into one service."""
