"""Training exercises: synthetic flights with planted cases, screened in MODE_TRAINING.

Scenarios (``scenarios/*.yaml``) describe a population of genuine travellers and the
planted at-risk cases; ``generate`` turns one into screenings for a seed, ``run``
streams them through ``ScreenManifest``, ``debrief`` and ``report`` score the result,
and ``drill`` puts one trainee at a simulated counter; ``trainee`` is that trainee's
own debrief and ``classreport`` combines the debriefs of a class.
"""
