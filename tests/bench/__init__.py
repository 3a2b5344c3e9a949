"""``make bench``: a large organisation's month, generated once and cached, timed stage by stage."""
