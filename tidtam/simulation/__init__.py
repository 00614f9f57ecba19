"""``tidtam simulate``: a fiscal year of the service replayed day by day against the LINE emulator.

``world.py`` builds the office in a scratch database, ``people.py`` says how the simulated people
behave (seeded), ``runner.py`` drives the real tick, outbox, dispatcher and event handling through
the year, ``figures.py`` counts what LINE received and prints it.
"""
