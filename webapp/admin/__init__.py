"""The operator pages (``routes``): the dead letters kept by ``dead_letters.py``, replayed from here."""
