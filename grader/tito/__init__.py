"""`tito`, the students' course command (status, grade, sync, milestone, notebook, doctor)."""
