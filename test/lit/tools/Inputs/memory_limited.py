"""Runs a command with its address space limited to MIB mebibytes, so that
an allocation the input's size does not justify fails the test instead of
passing on a machine with memory to spare; exits with the command's status.

usage: memory_limited.py MIB -- COMMAND...
"""
import resource
import subprocess
import sys

limit = int(sys.argv[1]) << 20
command = sys.argv[3:]


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


sys.exit(subprocess.run(command, preexec_fn=limit_memory).returncode)
