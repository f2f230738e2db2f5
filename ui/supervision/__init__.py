"""The views of the supervision centre (pages/supervision.py), one module per view, each with ``show(f, now)``
(the ranking's also takes the months to choose from): layout only, the data from ui/data.py."""
