"""Rule-script logging: messages and uncaught exceptions reach the rule's log file."""

from __future__ import annotations

import subprocess
import sys


def test_uncaught_exception_is_written_to_the_log(tmp_path):
    log_path = tmp_path / "rule.log"
    code = (
        "from lfpflow.logs import log_to\n"
        f"log = log_to({str(log_path)!r}, 'rule')\n"
        "log.info('started')\n"
        "raise RuntimeError('kernel exploded')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    text = log_path.read_text()
    assert "rule INFO started" in text
    assert "RuntimeError: kernel exploded" in text and "Traceback" in text
    assert "RuntimeError: kernel exploded" in result.stderr  # the console still shows it
