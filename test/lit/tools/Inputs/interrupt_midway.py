"""Runs a command with TMPDIR set to a fresh directory, waits until a file
matching GLOB appears there (the command's temporary), sends SIGNAL, and
prints how the command ended and what it left in the directory.

usage: interrupt_midway.py DIR GLOB SIGNAL -- COMMAND...
"""
import fnmatch
import os
import signal
import subprocess
import sys
import time

directory, pattern, name = sys.argv[1:4]
command = sys.argv[5:]
os.makedirs(directory, exist_ok=True)
for stale in os.listdir(directory):
    os.remove(os.path.join(directory, stale))
# Default dispositions, as in a terminal: lit's workers ignore SIGINT, and
# a child inherits that.
process = subprocess.Popen(command, env=dict(os.environ, TMPDIR=directory),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
deadline = time.monotonic() + 300
seen = []
while process.poll() is None and time.monotonic() < deadline and not seen:
    seen = fnmatch.filter(os.listdir(directory), pattern)
    time.sleep(0.005)
if not seen:
    process.kill()
    sys.exit(f"no temporary matching {pattern} appeared (exit {process.wait()})")
process.send_signal(getattr(signal, name))
code = process.wait(timeout=60)
print(f"saw: {len(seen)} temporary")
print(f"exit: {'signal ' + signal.Signals(-code).name if code < 0 else code}")
print(f"left: {' '.join(sorted(os.listdir(directory))) or 'nothing'}")
