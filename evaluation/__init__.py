"""Evaluation (the manual's process B): questionnaires as data, campaigns that send them through LINE,
their results, and the year-end judgement of each project against its indicators.

The pure parts live here (the questionnaire model and its loader, the condition language, the
conversation engine, the statistics, the year-end rules); the LINE edge is `bot/evaluation.py`, the
tables are `models/evaluation.py`, the sending is `scheduler/campaigns.py` and every Thai word people
read is in `messages/evaluation.py`.
"""
