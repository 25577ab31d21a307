"""Beat's "Sending due task" line of a frequent task is DEBUG at the default level; other tasks keep theirs (issue 8,
item 20: bin/run's beat logged the battles' tick every 5 s)."""

import logging

from config.celery_app import QuietTaskFilter


def _beat_record(task: str) -> logging.LogRecord:
    return logging.LogRecord("celery.beat", logging.INFO, __file__, 1, "Scheduler: Sending due task %s (%s)",
                             (f"entry of {task}", task), None)


def test_beat_lines_of_quiet_tasks_are_demoted_and_others_kept():
    logging.getLogger("celery.beat").setLevel(logging.INFO)
    quiet, kept = _beat_record("battles.tick"), _beat_record("trading.recover_executions")
    assert QuietTaskFilter().filter(quiet) is False and quiet.levelname == "DEBUG"
    assert QuietTaskFilter().filter(kept) is True and kept.levelname == "INFO"
