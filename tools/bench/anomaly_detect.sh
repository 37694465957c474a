#!/bin/bash
# Time to detect: the end-to-end anomaly test (5 ms -> 50 ms step, 1 s
# interval, 3 s persistence) prints its measured time from the step to the
# firing event's observation as a bench line.
cd "$(dirname "$0")/../.."
bash tests/integration/anomaly_e2e.sh 2>&1 | grep -E '^bench:|^FAIL'
