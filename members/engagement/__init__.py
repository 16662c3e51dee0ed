"""Engagement and iron fans: events in, decayed fan scores, promotion, daily stats.

``models`` holds the rows, ``scoring`` the pure arithmetic (decay, the policy's
defaults), ``services`` the writes of an engagement batch, ``jobs`` the scheduled
recompute, snapshot and retention, ``selectors`` the reads. The rule of the scores
is written once, in ``docs/iron-fans.md``.
"""
