"""The demo's LINE simulator: a page in the browser that looks and behaves like LINE on a phone,
talking to the service through the LINE emulator (tidtam/emulator), with the service's clock to move.

``tidtam demo`` (demo.py) starts it; app.py is the page's endpoints; people.py links the demo office's
people to simulated LINE users.
"""
