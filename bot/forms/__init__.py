"""The chat-form engine: forms declared as data, one engine that asks, validates, stores and resumes.

- `spec.py`: the declaration (Field, Form) and its build-time checks and Mermaid diagram;
- `engine.py`: the pure core, (form, state, input, data) → (state, replies, effects);
- `kinds.py`: reading an answer of each kind (number, money, date, choice…);
- `runtime.py`: the LINE/database wrapper around the core;
- `report.py`: the quarterly progress report (the manual's M6 step).
"""
