#!/bin/sh
# in-cgroup.sh DIR COMMAND...: runs COMMAND inside the cgroup directory DIR
# (its children inherit it). Used by run.sh --server-quota.
cg=$1
shift
echo $$ >"$cg/cgroup.procs" || { echo "in-cgroup.sh: cannot join $cg" >&2; exit 1; }
exec "$@"
