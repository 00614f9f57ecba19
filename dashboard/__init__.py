"""The planning group's workspace: a server-rendered dashboard, eMENSCR exports and the annual report."""
