# Sourced by .ci/run: make the browser tests run, and required, in CI.
#
# Installs Debian's chromium and chromium-driver when the machine lacks
# them (the tests drive that binary; no browser is ever downloaded), then
# exports YANEX_REQUIRE_BROWSER=1 so that a missing browser fails the
# browser tests instead of skipping them. Screenshots the tests take are
# kept under bench/results/screenshots (git-ignored).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "ci: installing chromium and chromium-driver" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi
export YANEX_REQUIRE_BROWSER=1
export YANEX_SCREENSHOT_DIR="${YANEX_SCREENSHOT_DIR:-$PWD/bench/results/screenshots}"
