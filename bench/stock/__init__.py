"""The baseline of the benchmarks: a minimal stock Django + Channels + django-q2 app.

A ticket POST inserts one row and, on commit, pushes it to the agents' group with
``group_send`` and enqueues an acknowledgement email with ``async_task``: the stock way of
doing less than the platform's outbox. Run it as the platform runs, under uvicorn, with
``DJANGO_SETTINGS_MODULE=bench.stock.settings``.
"""
