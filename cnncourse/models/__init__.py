"""Ready-made models the labs build on (one small module per model family).

Graded exercises ask students to build their own; what lives here is either
given to them (e.g. a model to visualise) or built from their earlier work.
"""
