#!/bin/sh
# One worker of the traffic Job rendered by `rlnd simulate --emit k8s` (an
# Indexed Job: JOB_COMPLETION_INDEX is the worker). Message i of the run,
# for i = 0 .. MESSAGES-1, is worker (i mod WORKERS)'s; it goes through the
# REST API of publisher g = i mod PUBLISHERS (node pods first, then bootstrap
# pods), on one of g's shards, as MESSAGE_SIZE random bytes, with
# `rlnd relay publish`. Each worker publishes every INTERVAL_US microseconds,
# its first message w * STEP_US after the others' start, so that the run
# publishes RATE messages a second in all.
#
# Needs a POSIX shell with head, wc, date, mktemp, sleep taking fractions of
# a second (GNU coreutils, busybox), curl or wget, and rlnd.
set -eu

w=${JOB_COMPLETION_INDEX:?is not set: run this script in an Indexed Job}

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 5 "$1"
	else
		wget -q -T 5 -O - "$1"
	fi
}

# target G: sets host to the host name of publisher G (no subshell: one
# process fewer per message).
target() {
	if [ "$1" -lt "$NODES" ]; then
		host=$NODE_NAME-$1.$NODE_DOMAIN
	else
		host=$BOOT_NAME-$(($1 - NODES)).$BOOT_DOMAIN
	fi
}

# seconds US: US microseconds as sleep takes them.
seconds() {
	printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
}

# Wait until every publisher this worker sends to answers /health: those
# congruent to w modulo TARGET_STRIDE (the gcd of WORKERS and PUBLISHERS).
deadline=$(($(date +%s) + HEALTH_TIMEOUT))
t=$((w % TARGET_STRIDE))
while [ "$t" -lt "$PUBLISHERS" ]; do
	target "$t"
	until fetch "http://$host:$REST_PORT/health" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "traffic worker $w: $host:$REST_PORT/health did not answer 200 within ${HEALTH_TIMEOUT}s" >&2
			exit 1
		fi
		sleep 2
	done
	t=$((t + TARGET_STRIDE))
done
echo "traffic worker $w: publishers ready; warming up for ${WARMUP}s"
sleep "$WARMUP"
sleep "$(seconds $((w * STEP_US)))"

fails=$(mktemp)
errors=$(mktemp)
interval=$(seconds "$INTERVAL_US")
start=$(date +%s)
sent=0
batch=0
i=$w
while [ "$i" -lt "$MESSAGES" ]; do
	g=$((i % PUBLISHERS))
	round=$((i / PUBLISHERS))
	if [ "$g" -lt "$NODES" ]; then
		shard=$(((g * SHARDS_PER_NODE + round % SHARDS_PER_NODE) % SHARDS))
	else
		shard=$((round % SHARDS))
	fi
	target "$g"
	(
		head -c "$MESSAGE_SIZE" /dev/urandom |
			rlnd relay publish --rest "http://$host:$REST_PORT" --pubsub-topic "/waku/2/rs/$CLUSTER_ID/$shard" \
				--content-topic "$CONTENT_TOPIC" --timeout "$PUBLISH_TIMEOUT" >/dev/null 2>>"$errors" ||
			echo "$i" >>"$fails"
	) &
	sent=$((sent + 1))
	batch=$((batch + 1))
	# At most BATCH publishes in flight: a slow node delays this worker
	# rather than piling up processes.
	if [ "$batch" -ge "$BATCH" ]; then
		wait
		batch=0
	fi
	i=$((i + WORKERS))
	sleep "$interval"
done
wait
failed=$(($(wc -l <"$fails")))
echo "traffic worker $w: published $((sent - failed)) of $sent messages in $(($(date +%s) - start))s, $failed failed"
if [ "$failed" -gt 0 ]; then
	head -n 20 "$errors" >&2
	exit 1
fi
