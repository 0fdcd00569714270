#!/bin/sh
# Time one SGD step of cnndbg next to PyTorch and numpy; see
# bench/side_by_side.py for what each column measures. Needs Go, and Debian's
# python3-torch and python3-numpy (apt-get install python3-torch python3-numpy).
# Extra arguments go to the Python driver, e.g. --threads 1 --batches 64.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/side_by_side.py --extras "$@"
