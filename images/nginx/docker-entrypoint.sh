#!/bin/sh
# Entrypoint of the shipyard-local/nginx stand-in, after the upstream nginx image's: when
# the command is nginx, run /docker-entrypoint.d/*.sh (executables) and source *.envsh in
# name order, then exec the command. NGINX_ENTRYPOINT_QUIET_LOGS silences it.
set -eu

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    if [ "$1" = nginx-debug ]; then
        # Debian has no separate debug build; nginx itself is the closest match.
        shift
        set -- nginx "$@"
    fi
    scripts=$(find /docker-entrypoint.d/ -follow -type f \( -name '*.sh' -o -name '*.envsh' \) \
        -print | sort -V)
    if [ -n "$scripts" ]; then
        entrypoint_log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        for f in $scripts; do
            if [ ! -x "$f" ]; then
                entrypoint_log "$0: ignoring $f, not executable"
                continue
            fi
            case "$f" in
                *.envsh)
                    entrypoint_log "$0: sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                    ;;
                *.sh)
                    entrypoint_log "$0: launching $f"
                    "$f"
                    ;;
            esac
        done
        entrypoint_log "$0: configuration complete; ready for start up"
    else
        entrypoint_log "$0: no files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
