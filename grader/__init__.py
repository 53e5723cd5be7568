"""The TinyTorch Classroom grading engine, split by verb: assign (starter, notebook, unlock),
check (static checks), grade (run tests in a sandbox), report (output formats)."""
