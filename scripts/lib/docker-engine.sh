# shellcheck shell=bash
# Helpers shared by scripts/build-base-image and scripts/build-images (sourced, not run).
#
# ensure_engine  installs Debian's docker.io with apt-get when no engine is installed, starts
#                dockerd in the background when none answers (log and pid file under
#                $DOCKER_STATE_DIR), and sets $DOCKER to a client that can talk to it.

log() { printf '[%s] %s\n' "${LOG_PREFIX:-docker}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

CACHE_ROOT="${DECENTRALML_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml}"
DOCKER_STATE_DIR="$CACHE_ROOT/docker"

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root, and sudo is not installed"
    fi
}

# Install Debian packages that are missing (only where apt-get exists).
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "please install: ${missing[*]} (no apt-get here)"
    log "installing ${missing[*]} with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Pick a docker client. A newer client without the buildx plugin cannot use BuildKit, which
# the multi-stage Dockerfiles rely on (only the stages a target needs are built), so prefer
# Debian's /usr/bin/docker over such a client earlier on PATH.
pick_client() {
    if [ -n "${DOCKER:-}" ]; then
        return 0
    fi
    if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
        DOCKER=docker
    elif [ -x /usr/bin/docker ]; then
        DOCKER=/usr/bin/docker
    elif command -v docker >/dev/null; then
        DOCKER=docker
    else
        DOCKER=""
    fi
}

engine_answers() { [ -n "${DOCKER:-}" ] && "$DOCKER" info >/dev/null 2>&1; }

ensure_engine() {
    pick_client
    if engine_answers; then
        return 0
    fi
    if ! command -v dockerd >/dev/null; then
        apt_install docker.io
        DOCKER=""
        pick_client
    fi
    [ -n "$DOCKER" ] || die "no docker client found after installing docker.io"
    if engine_answers; then
        return 0
    fi
    mkdir -p "$DOCKER_STATE_DIR"
    local pidfile="$DOCKER_STATE_DIR/dockerd.pid" logfile="$DOCKER_STATE_DIR/dockerd.log"
    local oldpid=""
    [ -f "$pidfile" ] && oldpid="$(cat "$pidfile")"
    if [ -n "$oldpid" ] && [[ "$(ps -o comm= -p "$oldpid" 2>/dev/null)" =~ ^(dockerd|sudo)$ ]]; then
        log "dockerd (pid $(cat "$pidfile")) is starting; waiting for it"
    else
        log "starting dockerd in the background (log: $logfile, pid file: $pidfile)"
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        # setsid: the daemon outlives this script and its terminal. Not through a shell
        # function, so that $! is the daemon (or sudo, which passes signals on to it).
        "${sudo[@]}" setsid dockerd >>"$logfile" 2>&1 </dev/null &
        echo $! >"$pidfile"
    fi
    local i
    for i in $(seq 1 60); do
        if engine_answers; then
            log "dockerd answers after $(( (i + 1) / 2 )) s; stop it with: kill \$(cat $pidfile)"
            return 0
        fi
        sleep 0.5
    done
    tail -n 20 "$logfile" >&2 || true
    die "dockerd did not answer within 30 s (see $logfile)"
}
