#!/usr/bin/env bash
# fresh-demo.sh: `make demo` as a user outside this workspace runs it.
#
# Copies the checkout (tracked and untracked, not ignored files) to a new
# folder under /tmp with no ../shared beside it, serves the three RLN
# ceremony artefacts from 127.0.0.1 (python3 -m http.server) standing in for
# raw.githubusercontent.com (RLND_ARTEFACTS_URL), and then:
#   1. runs `make demo` there with an empty artefacts cache
#      (RLND_ARTEFACTS_CACHE): it must pass, having fetched the three files;
#   2. runs `make demo` again with fetching refused (RLND_ARTEFACTS_FETCH=0)
#      and another empty cache: it must fail with the error that says where
#      to put which files, and fetch nothing;
#   3. runs `rlnd devnet` with the server stopped and an empty cache: it must
#      fail with the same guidance, naming the network error.
#
# Options:
#   --empty-modcache   build with GOMODCACHE set to an empty folder: every
#                      module is downloaded through the Go module proxy and
#                      compiled again (many minutes on 2 cores)
#   --empty-gocache    build with GOCACHE set to an empty folder as well
#   --files DIR        the folder whose artefacts are served (default: the
#                      one `rlnd rln artefacts path` finds from the checkout,
#                      ../shared/rln/tree_depth_20 here)
#   --keep             keep the temporary folder (its path is printed)
#
# Exit status 0 when all three checks hold. Not part of `make test` (it
# takes minutes); `make demo-fresh` runs it.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

empty_modcache=0 empty_gocache=0 keep=0 files=""
while [ $# -gt 0 ]; do
	case "$1" in
	--empty-modcache) empty_modcache=1 ;;
	--empty-gocache) empty_gocache=1 ;;
	--keep) keep=1 ;;
	--files)
		[ $# -ge 2 ] || { echo "fresh-demo: --files needs a folder" >&2; exit 2; }
		files=$2
		shift
		;;
	-h | --help) usage; exit 0 ;;
	*) echo "fresh-demo: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

command -v python3 >/dev/null || { echo "fresh-demo: python3 is needed to serve the artefacts on 127.0.0.1" >&2; exit 2; }
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
if [ -z "$files" ]; then
	files=$(cd "$repo" && go run ./cmd/rlnd rln artefacts path | sed -n 1p)
fi
names=(rln_final.zkey verification_key.json graph.bin)
for n in "${names[@]}"; do
	[ -f "$files/$n" ] || { echo "fresh-demo: $files/$n not found: give --files DIR holding ${names[*]}" >&2; exit 2; }
done

work=$(mktemp -d /tmp/rlnd-fresh.XXXXXX)
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	if [ "$keep" = 1 ]; then
		echo "fresh-demo: kept $work"
	else
		# The module cache is written read-only.
		chmod -R u+w "$work" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "fresh-demo: FAIL: $*" >&2; exit 1; }
say() { echo "fresh-demo: $*"; }

# The copy, and no ../shared above it anywhere.
mkdir -p "$work/rlnd"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$work/rlnd" -xf -
d="$work/rlnd"
while :; do
	[ -e "$d/../shared/rln/tree_depth_20" ] && fail "$d/../shared/rln/tree_depth_20 exists: the copy would find it"
	[ "$d" = / ] && break
	d=$(dirname "$d")
done
say "copied the checkout to $work/rlnd ($(du -sh "$work/rlnd" | cut -f1)); no ../shared above it"

# The artefacts server on 127.0.0.1.
mkdir -p "$work/www"
for n in "${names[@]}"; do cp "$files/$n" "$work/www/$n"; done
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/www" >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 100); do # up to 10 s
	port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -1)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || fail "the artefacts server did not start: $(cat "$work/server.log")"
url="http://127.0.0.1:$port"
say "serving ${names[*]} from $files at $url"
gets() { grep -c '"GET /' "$work/server.log" || true; }

# The runs' environment: nothing of the caller's artefacts settings.
base_env=(env -u RLND_RLN_ARTEFACTS_DIR -u RLND_ARTEFACTS_CACHE -u RLND_ARTEFACTS_URL -u RLND_ARTEFACTS_FETCH)
if [ "$empty_modcache" = 1 ]; then
	mkdir -p "$work/gomodcache"
	base_env+=(GOMODCACHE="$work/gomodcache")
	say "GOMODCACHE=$work/gomodcache (empty)"
fi
if [ "$empty_gocache" = 1 ]; then
	mkdir -p "$work/gocache"
	base_env+=(GOCACHE="$work/gocache")
	say "GOCACHE=$work/gocache (empty)"
fi

# 1. make demo fetches the artefacts and passes.
t0=$(now)
say "1/3 make demo, artefacts fetched from $url into an empty cache"
set +e
(cd "$work/rlnd" && "${base_env[@]}" RLND_ARTEFACTS_URL="$url" RLND_ARTEFACTS_CACHE="$work/cache1" make demo) >"$work/demo1.log" 2>&1
code=$?
set -e
t1=$(since "$t0")
sed 's/^/    /' "$work/demo1.log" | grep -v '^    go: downloading ' || true
[ "$code" = 0 ] || fail "make demo exited $code (log above)"
grep -q '^== devnet: PASS ==$' "$work/demo1.log" || fail "make demo printed no PASS verdict"
for n in "${names[@]}"; do
	grep -q "artefacts: $n: .* ok, saved as $work/cache1/$n" "$work/demo1.log" || fail "make demo did not report fetching $n"
done
[ "$(gets)" = 3 ] || fail "$(gets) requests to the artefacts server, want 3: $(cat "$work/server.log")"
"${base_env[@]}" "$work/rlnd/bin/rlnd" rln artefacts verify --dir "$work/cache1" >"$work/verify1.log" ||
	fail "the cache after the demo: $(cat "$work/verify1.log")"
mods=$(grep -c '^go: downloading ' "$work/demo1.log" || true)
if [ "$empty_modcache" = 1 ]; then
	[ "$mods" -gt 0 ] || fail "GOMODCACHE was empty, yet the build downloaded no module"
fi
say "1/3 PASS in $t1 s: make demo passed; the 3 files were fetched (3 requests) and verify says OK; $mods Go modules downloaded"

# 2. With fetching refused, make demo fails with the guidance.
t0=$(now)
say "2/3 make demo, RLND_ARTEFACTS_FETCH=0, another empty cache"
set +e
(cd "$work/rlnd" && "${base_env[@]}" RLND_ARTEFACTS_URL="$url" RLND_ARTEFACTS_CACHE="$work/cache2" RLND_ARTEFACTS_FETCH=0 make demo) >"$work/demo2.log" 2>&1
code=$?
set -e
t2=$(since "$t0")
sed 's/^/    /' "$work/demo2.log"
[ "$code" != 0 ] || fail "make demo passed with fetching refused and no artefacts"
err=$(grep '^rlnd: ' "$work/demo2.log" || true)
for want in "fetching the RLN artefacts is off (RLND_ARTEFACTS_FETCH=0)" "put into $work/cache2 (the cache" "rln.artefacts-dir" \
	"rln_final.zkey (3429990 bytes, sha256 ae30d3d4b29d9dab8c65ff181644a3eb57c2c0fa9f687ea3baf8c7f711d7946a, from https://raw.githubusercontent.com/vacp2p/zerokit/" \
	"verification_key.json (3656 bytes, sha256 ae43614cd02ebe951f44465924eff9882d1321b20f0cc129406bc5fa2547fe11, from https://raw.githubusercontent.com/vacp2p/zerokit/" \
	"graph.bin (280798 bytes, sha256 eaf1868e27b22c7deb6da8a253300c99effcfa417f807ef7105d3fb8628d1c54, from https://raw.githubusercontent.com/vacp2p/zerokit/"; do
	case "$err" in *"$want"*) ;; *) fail "the error does not say: $want" ;; esac
done
[ "$(gets)" = 3 ] || fail "requests to the artefacts server with fetching refused ($(gets) in all, want still 3)"
[ ! -e "$work/cache2/rln_final.zkey" ] || fail "a file in the cache with fetching refused"
say "2/3 PASS in $t2 s: make demo failed (exit $code) with the error naming the folder, the files, their sha256 and URLs; nothing fetched"

# 3. Offline: the server gone, the same guidance with the network error.
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
t0=$(now)
set +e
(cd "$work/rlnd" && "${base_env[@]}" RLND_ARTEFACTS_URL="$url" RLND_ARTEFACTS_CACHE="$work/cache3" ./bin/rlnd devnet) >"$work/demo3.log" 2>&1
code=$?
set -e
t3=$(since "$t0")
sed 's/^/    /' "$work/demo3.log"
[ "$code" != 0 ] || fail "rlnd devnet passed offline with no artefacts"
err=$(grep '^rlnd: ' "$work/demo3.log" || true)
for want in "offline, or the server is unreachable" "connection refused" "put into $work/cache3 (the cache" "sha256 ae30d3d4b29d9dab8c65ff181644a3eb57c2c0fa9f687ea3baf8c7f711d7946a"; do
	case "$err" in *"$want"*) ;; *) fail "the offline error does not say: $want" ;; esac
done
say "3/3 PASS in $t3 s: offline, rlnd devnet failed (exit $code) with the same guidance and the network error"
say "all PASS (make demo with the fetch: $t1 s; refused: $t2 s; offline: $t3 s)"
