"""The trusted side of the worker: a `Session` that starts the sandboxed worker
(`isolation`), sends it requests and decodes its answers as hostile (`handles`,
`errors`), and watches its time (`stall`) and disk (`quota`). Tests reach it only
through the test kit (`grader/testing/`); the grading engine starts it."""
