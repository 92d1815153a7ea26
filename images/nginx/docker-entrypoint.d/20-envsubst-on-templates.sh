#!/bin/sh
# Upstream behaviour: render every $NGINX_ENVSUBST_TEMPLATE_DIR/**/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX
# (default /etc/nginx/templates/*.template) into $NGINX_ENVSUBST_OUTPUT_DIR (default
# /etc/nginx/conf.d), substituting only variables defined in the environment (optionally
# only names matching NGINX_ENVSUBST_FILTER), so nginx's own $host, $uri... stay intact.
# A non-root container with a read-only /etc/nginx points NGINX_ENVSUBST_OUTPUT_DIR at a
# writable directory (created here when missing) that its nginx.conf includes.
set -eu

ME=$(basename "$0")

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

auto_envsubst() {
    template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    filter="${NGINX_ENVSUBST_FILTER:-}"

    [ -d "$template_dir" ] || return 0
    if [ -z "$(find "$template_dir" -follow -type f -name "*$suffix" -print)" ]; then
        return 0
    fi
    mkdir -p "$output_dir" 2>/dev/null || true
    if [ ! -w "$output_dir" ]; then
        entrypoint_log "$ME: ERROR: $template_dir exists, but $output_dir is not writable"
        return 0
    fi

    # shellcheck disable=SC2016,SC2046  # ${...} is for envsubst; the names split on purpose
    defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))

    find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
        relative_path="${template#"$template_dir/"}"
        output_path="$output_dir/${relative_path%"$suffix"}"
        subdir=$(dirname "$relative_path")
        mkdir -p "$output_dir/$subdir"
        entrypoint_log "$ME: Running envsubst on $template to $output_path"
        envsubst "$defined_envs" < "$template" > "$output_path"
    done
}

auto_envsubst

exit 0
