#!/bin/sh
# The runner image's entry point (Dockerfile, target runner): one `wattlake`
# stage per CodeBuild build, named by the state machine in WATTLAKE_COMMAND
# (e.g. "transform --selector lake_clean"). After `docs`, the site is
# published to WATTLAKE_PUBLISH (s3://.../docs/) when set.
set -eu
cd "${WATTLAKE_PROJECT_DIR:-/opt/wattlake}"
# shellcheck disable=SC2068 # the stage's words are split on purpose
wattlake $@
if [ "${1:-}" = docs ] && [ -n "${WATTLAKE_PUBLISH:-}" ]; then
    python -c 'import sys; from wattlake.refresh.aws import publish_folder; publish_folder(sys.argv[1], sys.argv[2])' \
        "${WATTLAKE_BUILD_DIR:-build}/docs" "$WATTLAKE_PUBLISH"
fi
