# Sourced by shell tests that start programs in the background (run from the
# repository root): a list of the pids to kill at exit, and bounded waits.
#   . tests/common/procs.sh
#   prog & pids="$pids $!"      ...      wait_pid "$pid" 5; [ "$st" -eq 0 ]
# The caller's EXIT trap kills what is still in $pids.
pids=""

# forget PID: it has been waited for, so the cleanup must not kill its (maybe reused) number.
forget() { pids=$(echo " $pids " | sed "s/ $1 / /"); }

# wait_pid PID SECONDS: waits for PID's exit; after SECONDS a SIGTERM (which timeout(1) passes on, and
# follows with SIGKILL 2 s later: -k 2), after 3 s more a SIGKILL. Sets $st.
wait_pid() {
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt $(($2 * 20)) ]; do
        sleep 0.05
        n=$((n + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        n=0
        while kill -0 "$1" 2>/dev/null && [ $n -lt 60 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        kill -9 "$1" 2>/dev/null || true
    fi
    st=0
    wait "$1" || st=$?
    forget "$1"
}
