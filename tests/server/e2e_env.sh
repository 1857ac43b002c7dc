# Sourced by the shell drivers of the server's Python end-to-end tests
# (test_chat_e2e.sh, test_trust_e2e.sh, test_keepalive.sh, test_hostile.sh):
#   . "$here/e2e_env.sh" && e2e_setup test_name
# Checks that /usr/bin/python3 has python3-websockets and python3-dissononce
# and that $BUILD/apps/secchat-server is built (a failure, never a skip), then
# sets server, and dir to a new temporary directory with an empty config
# directory used as XDG_CONFIG_HOME and HOME, so that no server reads or
# creates the user's ~/.config/secchat. The caller removes dir.
e2e_setup() {
    BUILD=${BUILD:-build}
    server="$BUILD/apps/secchat-server"
    for module in websockets dissononce; do
        if ! /usr/bin/python3 -c "import $module" >/dev/null 2>&1; then
            echo "FAIL $1: /usr/bin/python3 cannot import $module; install python3-$module (make deps does it)" >&2
            exit 1
        fi
    done
    if [ ! -x "$server" ]; then
        echo "FAIL $1: $server not built" >&2
        exit 1
    fi
    dir=$(mktemp -d) || exit 1
    mkdir "$dir/config"
    XDG_CONFIG_HOME="$dir/config"
    HOME="$dir"
    export XDG_CONFIG_HOME HOME
    unset SECCHAT_PSK_FILE
}
