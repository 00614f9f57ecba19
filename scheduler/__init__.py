"""Time and calendar: the injectable clock, the Thai fiscal year, working days and the manual's process steps."""
