"""The course kit's tools for instructors, maintainers and CI (``course run``, the data mirror, ``course doctor``,
the lock and drift check, the ``course`` command): never imported by a student's kernel (the student runtime is
``course``; import-linter contracts in pyproject.toml keep the two apart)."""
