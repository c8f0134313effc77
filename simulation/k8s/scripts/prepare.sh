#!/bin/sh
# Init step of an rlnd pod rendered by `rlnd simulate --emit k8s`: writes the
# settings that differ from pod to pod to $CONFIG_FILE, which `rlnd node`
# reads as its configuration file (RLND_CONFIG); everything shared comes from
# the container's RLND_* variables.
#
#   bootstrap pods: the fixed node key of this pod (from the Secret), so its
#     peer id is the one the other pods' discovery.entry-nodes name;
#   every pod: the ENRs of the bootstrap pods before it (all of them for the
#     nodes), read from their REST API's /debug/v1/info, as discv5 bootstrap
#     nodes (an ENR carries the pod IP, known only once the pod runs);
#   node pods relaying fewer shards than the cluster has: their shards;
#   RLN runs: every pod waits for the dev chain; publishing pods register an
#     RLN membership on it, paid by dev account 1 + the publisher's index,
#     and keep it in the data directory (registered once per pod).
#
# Needs a POSIX shell with cat, sed, date, sleep, mv, and curl or wget.
set -eu

ordinal=${POD_NAME##*-}
case $ordinal in
'' | *[!0-9]*)
	echo "prepare: pod name $POD_NAME does not end in -<ordinal>" >&2
	exit 1
	;;
esac

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 5 "$1"
	else
		wget -q -T 5 -O - "$1"
	fi
}

# RLN: wait for the dev chain (rlnd node gives up on a chain that does not
# answer for a minute; go-ethereum answers an empty GET with 200).
if [ "$RLN_PUBLISHERS" -gt 0 ]; then
	deadline=$(($(date +%s) + FETCH_TIMEOUT))
	until fetch "$CHAIN_RPC_URL" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "prepare: the dev chain $CHAIN_RPC_URL did not answer within ${FETCH_TIMEOUT}s" >&2
			exit 1
		fi
		sleep 2
	done
fi

tmp=$CONFIG_FILE.tmp
umask 077
: >"$tmp"

if [ "$ROLE" = bootstrap ]; then
	key=$(cat "$KEYS_DIR/$POD_NAME")
	printf 'p2p:\n  nodekey: "%s"\n' "$key" >>"$tmp"
	want=$ordinal
else
	want=$BOOTSTRAPS
fi

# The ENRs of bootstrap pods 0..want-1: every one that answers within
# FETCH_TIMEOUT seconds, at least one.
enrs=""
pending=""
i=0
while [ "$i" -lt "$want" ]; do
	pending="$pending $i"
	i=$((i + 1))
done
deadline=$(($(date +%s) + FETCH_TIMEOUT))
while [ -n "$pending" ]; do
	left=""
	for i in $pending; do
		url="http://$BOOT_NAME-$i.$BOOT_DOMAIN:$REST_PORT/debug/v1/info"
		enr=$(fetch "$url" 2>/dev/null | sed -n 's/.*"enrUri":"\(enr:[^"]*\)".*/\1/p')
		if [ -n "$enr" ]; then
			enrs="$enrs $enr"
			echo "prepare: bootstrap node $BOOT_NAME-$i: $enr"
		else
			left="$left $i"
		fi
	done
	pending=$left
	[ -z "$pending" ] && break
	if [ "$(date +%s)" -ge "$deadline" ]; then
		if [ -z "$enrs" ]; then
			echo "prepare: no bootstrap node answered $BOOT_NAME-*.$BOOT_DOMAIN:$REST_PORT/debug/v1/info within ${FETCH_TIMEOUT}s" >&2
			exit 1
		fi
		echo "prepare: bootstrap nodes$pending did not answer within ${FETCH_TIMEOUT}s; going on without them" >&2
		break
	fi
	sleep 2
done
if [ -n "$enrs" ]; then
	printf 'discovery:\n  discv5-bootstrap-nodes:\n' >>"$tmp"
	for enr in $enrs; do
		printf '    - "%s"\n' "$enr" >>"$tmp"
	done
fi

# Shards: node pod o relays (o * SHARDS_PER_NODE + j) mod SHARDS for
# j < SHARDS_PER_NODE; bootstrap pods relay every shard.
if [ "$ROLE" != bootstrap ] && [ "$SHARDS_PER_NODE" -lt "$SHARDS" ]; then
	printf 'network:\n  shards:\n' >>"$tmp"
	j=0
	while [ "$j" -lt "$SHARDS_PER_NODE" ]; do
		printf '    - %d\n' $(((ordinal * SHARDS_PER_NODE + j) % SHARDS)) >>"$tmp"
		j=$((j + 1))
	done
fi

# RLN: publishers are the node pods first, then the bootstrap pods.
if [ "$RLN_PUBLISHERS" -gt 0 ]; then
	if [ "$ROLE" = bootstrap ]; then
		g=$((NODES + ordinal))
	else
		g=$ordinal
	fi
	if [ "$g" -lt "$RLN_PUBLISHERS" ]; then
		if [ ! -s "$KEYSTORE" ]; then
			deadline=$(($(date +%s) + FETCH_TIMEOUT))
			until rlnd membership register --rpc "$CHAIN_RPC_URL" --contract "$CHAIN_CONTRACT" \
				--rate-limit "$RATE_LIMIT" --dev-key $((g + 1)) --keystore "$KEYSTORE" \
				--password-file "$KEYS_DIR/keystore-password" --timeout 2m; do
				if [ "$(date +%s)" -ge "$deadline" ]; then
					echo "prepare: registering an RLN membership on $CHAIN_RPC_URL failed for ${FETCH_TIMEOUT}s" >&2
					exit 1
				fi
				sleep 5
			done
		fi
		printf 'rln:\n  keystore: "%s"\n' "$KEYSTORE" >>"$tmp"
	fi
fi

mv "$tmp" "$CONFIG_FILE"
echo "prepare: wrote $CONFIG_FILE"
